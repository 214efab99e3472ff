-- The pageview back-fill reads a session's latest view (`order by entered_at desc, id desc
-- limit 1`); with `id` in the key that is one backward index-only probe instead of a bitmap scan
-- and a sort. The new index is built before the old one is dropped, so the lookup never lacks an
-- index. Migrations run in one transaction, so CREATE INDEX holds off writes to the table while
-- it builds, and DROP INDEX needs an exclusive lock until commit: the lock timeout makes the
-- migration fail (and the release retry) rather than queue every ingest write behind a long
-- reader. On a large table, build the index first without blocking
--   CREATE INDEX CONCURRENTLY analytics_pageviews_session_entered_id_idx
--     ON analytics_pageviews USING btree (session_id, entered_at, id);
-- check that it is valid (`select indisvalid from pg_index where indexrelid =
-- 'analytics_pageviews_session_entered_id_idx'::regclass`; drop it and build again if not), and
-- this migration then only drops the old index.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "analytics_pageviews_session_entered_id_idx" ON "analytics_pageviews" USING btree ("session_id","entered_at","id");--> statement-breakpoint
DROP INDEX IF EXISTS "analytics_pageviews_session_entered_idx";
