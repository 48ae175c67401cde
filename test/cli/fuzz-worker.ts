// The in-process side of the command-line fuzz test: runs `ctr check FILE`
// and `ctr explain FILE` through the CLI's own entry (runtime/cli.ts main) for
// a range of cases, one after the other, and reports each run on a line of
// JSON: exit status, wall time, peak RSS from getrusage(2) and what was
// printed.
//
//   bun test/cli/fuzz-worker.ts ROOT CASEDIR REPORT OUT ERR FROM TO
//
// ROOT is the ctr checkout under test; run r is case r>>1, `check` when r is
// even and `explain` when odd. Its fds 1 and 2 are the files OUT and ERR,
// opened O_APPEND by the harness: after each run they are read and emptied.
// The peak RSS of each run is its own: writing 5 to /proc/self/clear_refs
// resets the high-water mark that getrusage reports (Linux >= 4.0), and the
// harness starts this process from a small one (fuzz-spawn.ts), whose size
// is the floor getrusage keeps from before the execve.
// The harness (fuzz-harness.ts) watches the time and memory of each run and
// kills this process when one goes over; a run that never reports an end is
// the one that was killed.

import { appendFileSync, closeSync, fstatSync, openSync, readSync, truncateSync, writeFileSync } from "node:fs";

const [root, dir, report, outPath, errPath, fromArg, toArg] = process.argv.slice(2);
const from = Number(fromArg);
const to = Number(toArg);
const cli = (await import(`${root}/runtime/cli.ts`)) as { main(argv: string[]): Promise<number> };
const { writeAll } = (await import(`${root}/runtime/fdio.ts`)) as { writeAll(fd: number, s: string): void };

const HEAD = 8192;

/** The first and last HEAD bytes of a file, and its size; then the file is emptied. */
function drain(path: string): { bytes: number; text: string } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const read = (pos: number, n: number): string => {
      const buf = Buffer.alloc(n);
      const got = readSync(fd, buf, 0, n, pos);
      return buf.subarray(0, got).toString("utf8");
    };
    const text = size <= 2 * HEAD ? read(0, size) : read(0, HEAD) + "\n[…]\n" + read(size - HEAD, HEAD);
    return { bytes: size, text };
  } finally {
    closeSync(fd);
    truncateSync(path, 0);
  }
}

const STACK = /^\s+at .*(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

for (let r = from; r < to; r++) {
  const i = r >> 1;
  const cmd = r % 2 === 0 ? "check" : "explain";
  const file = `${dir}/case-${i}.ctr`;
  writeFileSync("/proc/self/clear_refs", "5");
  appendFileSync(report, JSON.stringify({ r, start: Date.now() }) + "\n");
  const t0 = performance.now();
  let code: number;
  try {
    code = await cli.main([cmd, file]);
  } catch (e) {
    // What runtime/main.ts does with a rejection.
    try {
      writeAll(2, `ctr: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    } catch {
      // the output itself failed
    }
    code = 125;
  }
  const ms = performance.now() - t0;
  const rssKB = process.resourceUsage().maxRSS;
  const out = drain(outPath!);
  const err = drain(errPath!);
  const stack = STACK.test(err.text) || STACK.test(out.text);
  const internal = /internal error/.test(err.text);
  const line = { r, code, ms, rssMB: rssKB / 1024, outBytes: out.bytes, errBytes: err.bytes, stack, internal, err: stack || internal || (code !== 0 && code !== 2) ? err.text.slice(0, 2000) : undefined };
  appendFileSync(report, JSON.stringify(line) + "\n");
  // A run that left a large heap behind would inflate the next runs' peaks: collect,
  // and when that does not bring it down, let the harness start a fresh process.
  if (process.memoryUsage().rss > 256 * 2 ** 20) {
    Bun.gc(true);
    if (process.memoryUsage().rss > 256 * 2 ** 20) {
      appendFileSync(report, JSON.stringify({ recycle: r }) + "\n");
      process.exit(0);
    }
  }
}
appendFileSync(report, JSON.stringify({ done: true }) + "\n");
process.exit(0);
