-- Erasure: tombstones of erased sessions and forgotten visitors (keyed digests only, pruned after
-- the client-id window), and the index that lets forgetting a visitor find its sessions with a
-- probe while ingest waits on the erasure's lock. CREATE INDEX holds off session writes while it
-- builds: the lock timeout makes the migration fail (and the release retry) rather than queue
-- ingest behind a long reader. On a large table, build it first without blocking
--   CREATE INDEX CONCURRENTLY analytics_sessions_visitor_idx ON analytics_sessions USING btree (visitor_id);
-- and this migration then finds it there.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "analytics_erasures" (
	"digest" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "analytics_erasures_expires_idx" ON "analytics_erasures" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "analytics_sessions_visitor_idx" ON "analytics_sessions" USING btree ("visitor_id");
