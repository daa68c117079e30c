/**
 * The worker thread that hosts an embedded PGlite (`openCatalog({ pgliteInWorker: true })`):
 * Postgres-in-WebAssembly runs each statement synchronously, so on the thread that answers HTTP
 * every catalog write (an audit batch, above all) would stall every request meanwhile.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { worker } from "@electric-sql/pglite/worker";

await worker({ init: (options) => PGlite.create(options) });
