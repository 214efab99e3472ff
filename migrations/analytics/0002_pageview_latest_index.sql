-- The pageview back-fill reads a session's latest view (`order by entered_at desc, id desc
-- limit 1`); with `id` in the key that is one backward index-only probe instead of a bitmap scan
-- and a sort. The new index is built before the old one is dropped, so the lookup never lacks an
-- index. Migrations run in one transaction, so CREATE INDEX holds off writes to the table while
-- it builds: on a large table, build it first without blocking
--   CREATE INDEX CONCURRENTLY analytics_pageviews_session_entered_id_idx
--     ON analytics_pageviews USING btree (session_id, entered_at, id);
-- and this migration then only drops the old index.
CREATE INDEX IF NOT EXISTS "analytics_pageviews_session_entered_id_idx" ON "analytics_pageviews" USING btree ("session_id","entered_at","id");--> statement-breakpoint
DROP INDEX IF EXISTS "analytics_pageviews_session_entered_idx";
