CREATE TABLE "analytics_pageviews" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
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
	CONSTRAINT "analytics_pageviews_ranges_check" CHECK (("analytics_pageviews"."duration" is null or "analytics_pageviews"."duration" between 0 and 3600) and ("analytics_pageviews"."scroll_depth" is null or "analytics_pageviews"."scroll_depth" between 0 and 100))
);
--> statement-breakpoint
CREATE TABLE "analytics_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"visitor_id" text NOT NULL,
	"user_id" uuid,
	"bio_page_id" uuid,
	"device" text,
	"browser" text,
	"os" text,
	"os_version" text,
	"timezone" text,
	"country" text,
	"city" text,
	"referrer" text,
	"referrer_domain" text DEFAULT 'direct' NOT NULL,
	"landing_page" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"utm_term" text,
	"utm_content" text,
	"page_views" integer DEFAULT 0 NOT NULL,
	"bounced" boolean DEFAULT true NOT NULL,
	"duration" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_activity_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "analytics_sessions_counters_check" CHECK ("analytics_sessions"."page_views" >= 0 and "analytics_sessions"."duration" >= 0)
);
--> statement-breakpoint
ALTER TABLE "analytics_pageviews" ADD CONSTRAINT "analytics_pageviews_session_id_analytics_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."analytics_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analytics_pageviews_session_entered_idx" ON "analytics_pageviews" USING btree ("session_id","entered_at");--> statement-breakpoint
CREATE INDEX "analytics_pageviews_bio_page_entered_idx" ON "analytics_pageviews" USING btree ("bio_page_id","entered_at") WHERE "analytics_pageviews"."bio_page_id" is not null;--> statement-breakpoint
CREATE INDEX "analytics_sessions_bio_page_started_idx" ON "analytics_sessions" USING btree ("bio_page_id","started_at") WHERE "analytics_sessions"."bio_page_id" is not null;--> statement-breakpoint
CREATE INDEX "analytics_sessions_user_idx" ON "analytics_sessions" USING btree ("user_id") WHERE "analytics_sessions"."user_id" is not null;