-- The sign-in throttle's counters replace the per-account lockout columns (see
-- services/auth/src/domain/login-throttle-policy.ts). DROP COLUMN needs an exclusive lock on
-- users for a moment: the lock timeout makes the migration fail (and the release retry) rather
-- than queue every sign-in behind a long reader.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
CREATE TABLE "login_throttles" (
	"key" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"email_key" text NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_failed_at" timestamp with time zone,
	"blocked_until" timestamp with time zone,
	"trusted_until" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "login_throttles_scope_check" CHECK ("login_throttles"."scope" in ('network', 'email'))
);
--> statement-breakpoint
CREATE INDEX "login_throttles_email_key_idx" ON "login_throttles" USING btree ("email_key");--> statement-breakpoint
CREATE INDEX "login_throttles_expires_at_idx" ON "login_throttles" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "login_attempts";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "locked_until";