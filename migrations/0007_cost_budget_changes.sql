-- By hand, as 0006: cost budgets are read on every fetch and remembered like the rest of the
-- catalog's hot reads, so a change to one bumps the change count too.
DO $$
BEGIN
  CREATE CONSTRAINT TRIGGER cost_budgets_changed AFTER INSERT OR UPDATE OR DELETE ON cost_budgets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION omnisql_catalog_changed();
  CREATE TRIGGER cost_budgets_truncated AFTER TRUNCATE ON cost_budgets
    FOR EACH STATEMENT EXECUTE FUNCTION omnisql_catalog_changed();
END;
$$;
