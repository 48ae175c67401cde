// Runs one command for the fuzz harness and reports its peak RSS.
//
//   bun test/cli/fuzz-spawn.ts REPORT OUT ERR DATA_MB -- ARGV...
//
// Why a process of its own: a child's ru_maxrss counts the image of the
// process it was forked from, up to its execve (the kernel keeps the old mm's
// high-water mark), so a CLI run spawned from the test runner (hundreds of
// MiB by the end of the suite) would report the runner's size, not its own.
// Spawned from here, a small process, the figure is the run's.
// REPORT gets a line {"pid"} when the command starts (for the harness to
// watch and kill it) and {"code", "signal", "rssMB"} when it ends.

import { appendFileSync, closeSync, openSync } from "node:fs";

const [report, out, err, dataMB, sep, ...argv] = process.argv.slice(2);
if (sep !== "--" || argv.length === 0) throw new Error("usage: fuzz-spawn.ts REPORT OUT ERR DATA_MB -- ARGV...");
const fo = openSync(out!, "a");
const fe = openSync(err!, "a");
// RLIMIT_DATA: a JS allocation beyond it fails instead of taking the machine
// (fuzz-harness.ts's DATA_FLOOR_MB says why it is never below 8 GiB).
const proc = Bun.spawn({ cmd: ["/bin/sh", "-c", `ulimit -d ${Number(dataMB) * 1024} && exec "$@"`, "sh", ...argv], stdio: ["ignore", fo, fe], env: { ...process.env, NO_COLOR: "1" } });
closeSync(fo);
closeSync(fe);
appendFileSync(report!, JSON.stringify({ pid: proc.pid }) + "\n");
const code = await proc.exited;
appendFileSync(report!, JSON.stringify({ code: proc.signalCode ? null : code, signal: proc.signalCode, rssMB: (proc.resourceUsage()?.maxRSS ?? 0) / 2 ** 20 }) + "\n");
