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
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenants', 'tenant_keys', 'users', 'connections', 'policies'] LOOP
    EXECUTE format(
      'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
      'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed()',
      t || '_changed', t);
    EXECUTE format(
      'CREATE TRIGGER %I AFTER TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed()',
      t || '_truncated', t);
  END LOOP;
END;
$$;
