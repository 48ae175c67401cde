// Runs a one-statement plan through runtime/execute.ts against the fake peer
// of fake-peer.ts, reporting errors as the CLI does; exits with ctr's status.
import { join } from "node:path";
import { Launch } from "../../runtime/host.ts";
import { execute } from "../../runtime/execute.ts";
import type { Plan } from "../../runtime/ops.ts";

const span = { file: "<fake>", line: 1, column: 1, offset: 0, length: 10 };
const plan: Plan = {
  namespaces: [],
  // CTR_FAKE_BIG_OP: an operation larger than the channel takes.
  ops: [{ kind: "hostname", name: process.env.CTR_FAKE_BIG_OP ? "x".repeat(17 << 20) : "h", side: "pid1", span, source: "hostname h", explain: [] }],
  needsDefaultRootfs: false,
};
const launch = Launch.spawn(join(import.meta.dir, "fake-peer.ts"));
const status = await execute(`fake-${process.pid}`, plan, launch, null, {
  trace: false,
  output: () => {},
  traceLine: () => {},
  error: (e) => process.stderr.write(`ctr: ${e instanceof Error ? e.message : String(e)}\n`),
});
// Peak RSS of this process since its execve (VmHWM is per address space, so
// unlike getrusage's maxrss it does not start at the spawning process's size).
const hwm = /VmHWM:\s+(\d+) kB/.exec(await Bun.file("/proc/self/status").text())?.[1];
process.stdout.write(`peak-rss-kib ${hwm}\n`);
process.exit(status);
