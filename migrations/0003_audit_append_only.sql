-- Custom SQL migration file, put your code below! --
-- The audit log is append-only: drizzle-kit cannot express triggers or grants, so this
-- migration was made with `drizzle-kit generate --custom` (drizzle's way for such SQL).
-- Rows of audit_log can be inserted, never updated, deleted or truncated; a tenant's chain
-- head (audit_heads) can be inserted and moved forward, never moved back or deleted.
CREATE OR REPLACE FUNCTION omnisql_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION omnisql_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_audit_append_only();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION omnisql_audit_head_forward() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.tenant_id = OLD.tenant_id AND NEW.last_id > OLD.last_id
    AND NEW.rows > OLD.rows THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_heads only moves forward: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads
  FOR EACH ROW EXECUTE FUNCTION omnisql_audit_head_forward();
--> statement-breakpoint
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_audit_append_only();
--> statement-breakpoint
-- Where the deployment has an application role, it gets no update/delete grants at all.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'omnisql_app') THEN
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_heads FROM omnisql_app;
    GRANT SELECT, INSERT ON audit_log TO omnisql_app;
    GRANT SELECT, INSERT, UPDATE ON audit_heads TO omnisql_app;
  END IF;
END $$;
