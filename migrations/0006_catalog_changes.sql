CREATE TABLE "catalog_changes" (
	"id" smallint PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
-- Below, by hand (drizzle-kit cannot express triggers): every row written to a table whose reads
-- instances remember bumps the count when its transaction commits (a deferred constraint
-- trigger), so the new count is seen together with the change and never before it; the row of
-- the count is locked only at commit, when the transaction holds every other lock it will take,
-- so two writers never wait on each other in a cycle. TRUNCATE, which row triggers do not see,
-- bumps it at once.
INSERT INTO "catalog_changes" ("id", "version") VALUES (1, 0);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION omnisql_catalog_changed() RETURNS trigger AS $$
BEGIN
  UPDATE catalog_changes SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER tenants_truncated AFTER TRUNCATE ON tenants
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER tenant_keys_changed AFTER INSERT OR UPDATE OR DELETE ON tenant_keys
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER tenant_keys_truncated AFTER TRUNCATE ON tenant_keys
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER connections_changed AFTER INSERT OR UPDATE OR DELETE ON connections
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER connections_truncated AFTER TRUNCATE ON connections
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE ON policies
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER policies_truncated AFTER TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
