// Runs a one-operation plan through runtime/execute.ts on a direct start
// (Launch.adopt, direct) of fake-direct-pid1.ts, as runtime/direct-run.ts
// drives a real one; exits with ctr's status. The fake's stdout is ours.
import { join } from "node:path";
import { Launch } from "../../runtime/host.ts";
import { execute } from "../../runtime/execute.ts";
import type { Plan } from "../../runtime/ops.ts";

const span = { file: "<fake>", line: 1, column: 1, offset: 0, length: 10 };
const plan: Plan = {
  namespaces: ["pid"], // as a direct start has: no cgroup of its own is needed to end orphans
  ops: [{ kind: "hostname", name: "h", side: "pid1", span, source: "hostname h", explain: [] }],
  needsDefaultRootfs: false,
};
const pid1 = Bun.spawn({ cmd: [process.execPath, join(import.meta.dir, "fake-direct-pid1.ts")], stdio: ["ignore", "inherit", "inherit", "pipe"] });
const status = await execute(`fake-${process.pid}`, plan, Launch.adopt(pid1, true), null, {
  trace: false,
  output: () => {},
  traceLine: () => {},
  error: (e) => process.stderr.write(`ctr: ${e instanceof Error ? e.message : String(e)}\n`),
});
process.exit(status);
