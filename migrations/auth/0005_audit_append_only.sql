-- The audit log is append-only: no row is ever changed. Deleting stays possible for the
-- retention pruning (AUDIT_RETENTION_DAYS) and for erasure requests.
CREATE OR REPLACE FUNCTION auth_audit_events_refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'auth_audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER auth_audit_events_append_only
  BEFORE UPDATE ON auth_audit_events
  FOR EACH ROW EXECUTE FUNCTION auth_audit_events_refuse_update();
