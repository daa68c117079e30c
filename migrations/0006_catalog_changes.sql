CREATE TABLE "catalog_changes" (
	"id" smallint PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
-- Below, by hand (drizzle-kit cannot express triggers): every statement that writes a table whose
-- reads instances remember bumps the count, in the writing transaction, so the new count is seen
-- no earlier than the change itself.
INSERT INTO "catalog_changes" ("id", "version") VALUES (1, 0);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION omnisql_catalog_changed() RETURNS trigger AS $$
BEGIN
  UPDATE catalog_changes SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER tenant_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_keys
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER connections_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON connections
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
--> statement-breakpoint
CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
