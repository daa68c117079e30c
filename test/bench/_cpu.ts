/**
 * CPU time of a process tree, from `/proc` (Linux): what the serving processes spent, whatever
 * else shares the machine's cores — the figure that stays comparable on a busy machine, where
 * throughput does not.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU milliseconds (user + system) spent so far by `root` and every live descendant, leaving out
 * the processes whose command line matches `skip` (the load generator).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { treeCpuMs } from "./_cpu.ts";
 * assert.ok(await treeCpuMs(Deno.pid) > 0);
 * ```
 */
export async function treeCpuMs(root: number, skip: RegExp = /loadgen\.ts/): Promise<number> {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // Fields after the command (which may hold spaces) start at state: ppid is the 2nd,
      // utime and stime the 12th and 13th.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (skip.test(cmdline)) continue;
      procs.set(Number(entry.name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch { /* gone meanwhile */ }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      const next = procs.get(p)?.ppid;
      if (next === undefined) return false;
      p = next;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, p] of procs) if (inTree(pid)) ticks += p.ticks;
  return ticks * 1000 / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds (user + system) so far of one process or thread, from its `/proc` stat file
 * (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`), with the name it runs under; undefined
 * when it is gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statCpu } from "./_cpu.ts";
 * assert.ok(statCpu(`/proc/${Deno.pid}/stat`)!.ms >= 0);
 * assert.equal(statCpu("/proc/0/stat"), undefined);
 * ```
 */
export function statCpu(path: string): { name: string; ms: number } | undefined {
  try {
    const stat = Deno.readTextFileSync(path);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      ms: (Number(f[11]) + Number(f[12])) * 1000 / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}
