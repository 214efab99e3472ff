-- The sign-in throttle's counters (see services/auth/src/domain/login-throttle-policy.ts). They
-- replace the per-account lockout columns users.login_attempts and users.locked_until, which
-- stay for this release so instances still running the previous one keep working during a
-- rolling deploy; nothing reads or writes them any more, and a later release drops them.
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
CREATE INDEX "login_throttles_expires_at_idx" ON "login_throttles" USING btree ("expires_at");
