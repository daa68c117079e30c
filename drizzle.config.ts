/**
 * drizzle-kit configuration: generates the catalog migrations in `migrations/` from
 * `src/catalog/schema.ts` (`deno task db:generate`). Generation needs no database.
 *
 * @module
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/catalog/schema.ts",
  out: "./migrations",
});
