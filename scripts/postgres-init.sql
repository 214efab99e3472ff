-- Runs once when the compose PostgreSQL volume is created: the analytics service's own database.
CREATE DATABASE bio_analytics;
