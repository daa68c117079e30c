import { PGlite } from "@electric-sql/pglite";
const cpu = () => { const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10; };
const base = import.meta.resolve("@electric-sql/pglite");
let c = cpu(), t = performance.now();
const step = (n: string) => { const c2 = cpu(), t2 = performance.now(); console.log(n, "cpu", c2 - c, "wall", Math.round(t2 - t)); c = c2; t = t2; };
const compile = async (name: string) => await WebAssembly.compile(await Deno.readFile(new URL(`./${name}`, base)));
const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile("pglite.wasm"), compile("initdb.wasm")]);
step("compile");
const pg = await PGlite.create({ pgliteWasmModule, initdbWasmModule });
step("initdb create");
await pg.exec("CREATE DATABASE omnisql");
const none = new Uint8Array(await (await pg.dumpDataDir("none")).arrayBuffer());
step("dump none " + none.length);
const gz = new Uint8Array(await (await pg.dumpDataDir("gzip")).arrayBuffer());
step("dump gzip " + gz.length);
await pg.close();
for (const [n, d] of [["none", none], ["gzip", gz]] as const) {
  const v = await PGlite.create({ pgliteWasmModule, initdbWasmModule, loadDataDir: new Blob([d]), database: "omnisql" });
  step("open " + n);
  await v.exec("CREATE TABLE x (a int)");
  step("ddl");
  await v.close();
}
