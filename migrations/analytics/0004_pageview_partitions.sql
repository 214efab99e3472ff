-- analytics_pageviews becomes a table partitioned BY RANGE (entered_at), one partition per
-- calendar month (UTC) plus a DEFAULT partition that catches a row whose month has no partition
-- yet (the maintenance task moves such strays into their own partition; see
-- services/analytics/src/maintenance). The primary key must contain the partition key, so it
-- becomes (id, entered_at); entered_at is a function of the id, so no id can appear twice.
--
-- The conversion keeps every row: the old table is renamed (which takes an ACCESS EXCLUSIVE lock
-- held until commit, so no write can slip in between the copy and the drop), the partitioned
-- table is created under the old name with the same columns, checks, foreign key and indexes,
-- a partition is created for every month that has rows (and the current one), the rows are
-- copied, and the old table is dropped, all in the migration's one transaction. The lock timeout
-- makes the migration fail (and the release retry) rather than queue ingest behind a long reader.
-- On a large table the copy holds the lock for as long as it takes: run it in a quiet hour.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
ALTER TABLE "analytics_pageviews" RENAME TO "analytics_pageviews_unpartitioned";--> statement-breakpoint
ALTER TABLE "analytics_pageviews_unpartitioned" RENAME CONSTRAINT "analytics_pageviews_pkey" TO "analytics_pageviews_unpartitioned_pkey";--> statement-breakpoint
ALTER TABLE "analytics_pageviews_unpartitioned" RENAME CONSTRAINT "analytics_pageviews_ranges_check" TO "analytics_pageviews_unpartitioned_ranges_check";--> statement-breakpoint
ALTER TABLE "analytics_pageviews_unpartitioned" RENAME CONSTRAINT "analytics_pageviews_session_id_analytics_sessions_id_fk" TO "analytics_pageviews_unpartitioned_session_fk";--> statement-breakpoint
ALTER INDEX "analytics_pageviews_session_entered_id_idx" RENAME TO "analytics_pageviews_unpartitioned_session_idx";--> statement-breakpoint
ALTER INDEX "analytics_pageviews_bio_page_entered_idx" RENAME TO "analytics_pageviews_unpartitioned_bio_page_idx";--> statement-breakpoint
CREATE TABLE "analytics_pageviews" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"bio_page_id" uuid,
	"path" text NOT NULL,
	"title" text,
	"referrer" text,
	"link_clicked" uuid,
	"entered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"duration" double precision,
	"scroll_depth" double precision,
	"left_at" timestamp with time zone,
	"leave_seconds" integer,
	CONSTRAINT "analytics_pageviews_id_entered_at_pk" PRIMARY KEY("id","entered_at"),
	CONSTRAINT "analytics_pageviews_ranges_check" CHECK (("analytics_pageviews"."duration" is null or "analytics_pageviews"."duration" between 0 and 3600) and ("analytics_pageviews"."scroll_depth" is null or "analytics_pageviews"."scroll_depth" between 0 and 100))
) PARTITION BY RANGE ("entered_at");--> statement-breakpoint
ALTER TABLE "analytics_pageviews" ADD CONSTRAINT "analytics_pageviews_session_id_analytics_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."analytics_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analytics_pageviews_session_entered_id_idx" ON "analytics_pageviews" USING btree ("session_id","entered_at","id");--> statement-breakpoint
CREATE INDEX "analytics_pageviews_bio_page_entered_idx" ON "analytics_pageviews" USING btree ("bio_page_id","entered_at") WHERE "analytics_pageviews"."bio_page_id" is not null;--> statement-breakpoint
-- The month partition holding `at` (UTC), created when missing; returns its name
-- (analytics_pageviews_yYYYYmMM). It is made as a plain table with the parent's columns and
-- checks and a CHECK on its range, then attached: ATTACH takes only a SHARE UPDATE EXCLUSIVE lock
-- on the parent, which ingest's writes do not wait for, and skips scanning the new table. The
-- DEFAULT partition must hold no row of the range (the maintenance task moves them out first).
CREATE OR REPLACE FUNCTION "analytics_pageviews_add_partition"("at" timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	lo timestamp := date_trunc('month', "at" AT TIME ZONE 'UTC');
	lo_tz timestamptz := lo AT TIME ZONE 'UTC';
	hi_tz timestamptz := (lo + interval '1 month') AT TIME ZONE 'UTC';
	part text := 'analytics_pageviews_' || to_char(lo, '"y"YYYY"m"MM');
BEGIN
	IF to_regclass(format('public.%I', part)) IS NOT NULL THEN
		RETURN part;
	END IF;
	EXECUTE format('CREATE TABLE public.%I (LIKE public.analytics_pageviews INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = 85)', part);
	EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (entered_at >= %L AND entered_at < %L)', part, part || '_range', lo_tz, hi_tz);
	EXECUTE format('ALTER TABLE public.analytics_pageviews ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)', part, lo_tz, hi_tz);
	RETURN part;
END
$$;--> statement-breakpoint
CREATE TABLE "analytics_pageviews_default" PARTITION OF "analytics_pageviews" DEFAULT WITH (fillfactor = 85);--> statement-breakpoint
SELECT "analytics_pageviews_add_partition"(m) FROM (
	SELECT DISTINCT date_trunc('month', "entered_at" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM "analytics_pageviews_unpartitioned"
	UNION SELECT now()
) months ORDER BY m;--> statement-breakpoint
INSERT INTO "analytics_pageviews" ("id", "session_id", "bio_page_id", "path", "title", "referrer", "link_clicked", "entered_at", "duration", "scroll_depth", "left_at", "leave_seconds")
SELECT "id", "session_id", "bio_page_id", "path", "title", "referrer", "link_clicked", "entered_at", "duration", "scroll_depth", "left_at", "leave_seconds" FROM "analytics_pageviews_unpartitioned";--> statement-breakpoint
DROP TABLE "analytics_pageviews_unpartitioned";
