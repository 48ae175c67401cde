#!/usr/bin/env bun
// REPL latency (issue 6): how long from entering a simple statement to its
// result being printed, on a live container.
//
//   through a pipe   `bin/ctr repl` with its stdin and stdout piped: the
//                    benchmark writes one statement, then waits for the line
//                    that reports it (`sethostname("h7")`, or the mount call
//                    naming /mnt/7) on ctr's stdout. This is what a user sees,
//                    minus the terminal: parsing, checking, planning, the
//                    round trip to PID 1, the syscall, printing.
//   in-process       the same ReplEngine (runtime/repl-engine.ts) the REPL
//                    uses, called directly: eval() until its result line was
//                    handed to the output function. No pipe, no line reading.
//
// Statements alternate `hostname hN` and `mount tmpfs /mnt/N`, 100 of them by
// default, after `ns uts, pid, mnt`. Not a timed test: a script you run by hand.
//
// Usage (as root): node_modules/.bin/bun bench/repl.ts [--statements N] [--json]

import { resolve, join } from "node:path";
import { BenchError, round, stats, type Stats } from "./lib.ts";
import { ReplEngine } from "../runtime/repl-engine.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");

function statement(i: number): { text: string; done: string } {
  return i % 2 === 0 ? { text: `hostname h${i}`, done: `sethostname("h${i}")` } : { text: `mount tmpfs /mnt/${i}`, done: `"/mnt/${i}", "tmpfs"` };
}

async function throughPipe(n: number): Promise<number[]> {
  const proc = Bun.spawn({ cmd: [CTR, "repl"], stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const waitFor = async (needle: string): Promise<void> => {
    for (;;) {
      const at = seen.indexOf(needle);
      if (at >= 0) {
        seen = seen.slice(at + needle.length);
        return;
      }
      const { value, done } = await reader.read();
      if (done) throw new BenchError(`ctr ended before printing ${needle}: ${await new Response(proc.stderr).text()}`);
      seen += decoder.decode(value, { stream: true });
    }
  };
  const send = (text: string) => {
    proc.stdin.write(text + "\n");
    proc.stdin.flush();
  };
  try {
    send("ns uts, pid, mnt");
    await waitFor("PID 1 is host pid");
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = statement(i);
      const t0 = performance.now();
      send(s.text);
      await waitFor(s.done);
      samples.push(performance.now() - t0);
    }
    send(":quit");
    await proc.stdin.end();
    const code = await proc.exited;
    if (code !== 0) throw new BenchError(`ctr repl exited with ${code}: ${await new Response(proc.stderr).text()}`);
    return samples;
  } finally {
    proc.kill();
  }
}

async function inProcess(n: number): Promise<number[]> {
  let last = "";
  const engine = new ReplEngine({ out: (t) => void (last += t), err: (t) => void (last += t), color: false, trace: false });
  engine.start();
  try {
    const r = await engine.eval("ns uts, pid, mnt");
    if (r.status !== 0) throw new BenchError(`ns failed: ${last}`);
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = statement(i);
      last = "";
      const t0 = performance.now();
      const res = await engine.eval(s.text);
      const ms = performance.now() - t0;
      if (res.status !== 0 || !last.includes(s.done)) throw new BenchError(`\`${s.text}\` failed: ${last}`);
      samples.push(ms);
    }
    return samples;
  } finally {
    await engine.teardown();
  }
}

function line(name: string, s: Stats): string {
  return `${name.padEnd(12)} median ${round(s.median, 2)} ms   p10 ${round(s.p10, 2)}   p90 ${round(s.p90, 2)}   min ${round(s.min, 2)}   max ${round(s.max, 2)}   (n=${s.n})`;
}

async function main(argv: string[]): Promise<number> {
  let n = 100;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--statements") n = Number(argv[++i]);
    else if (a === "--json") json = true;
    else throw new BenchError(`unknown argument ${a}\nusage: bun bench/repl.ts [--statements N] [--json]`, 2);
  }
  if (!Number.isInteger(n) || n < 1) throw new BenchError("--statements needs a positive integer", 2);
  if (process.getuid?.() !== 0) throw new BenchError("bench/repl.ts starts real containers: run it as root");
  const pipe = stats(await throughPipe(n));
  const direct = stats(await inProcess(n));
  if (json) {
    console.log(JSON.stringify({ statements: n, pipe, inProcess: direct }));
  } else {
    console.log(`REPL latency, ${n} statements (hostname hN / mount tmpfs /mnt/N) on a live container; target: median under 5 ms`);
    console.log(line("pipe", pipe));
    console.log(line("in-process", direct));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof BenchError ? e.message : e);
    process.exit(e instanceof BenchError ? e.exitCode : 1);
  },
);
