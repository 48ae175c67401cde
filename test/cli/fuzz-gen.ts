// Inputs for the command-line fuzz test (test/cli/fuzz.test.ts): seeded
// mutations of every example and every golden file.
//
// Besides small edits (a character or token inserted, deleted or replaced, a
// line duplicated, swapped or cut), some mutations amplify what is there, as
// the inputs that broke the front end did: a line repeated thousands of
// times, a word repeated along one line, a number made huge, a list made long,
// a chain of `let`s each doubling the last. The vocabulary is written out
// here, not taken from the registry, so that a given seed yields the same
// cases whatever version of ctr is tested (the before/after figures of
// issue 11 compare the same inputs).

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Seed {
  name: string;
  text: string;
}

/**
 * Every examples/*.ctr and every .ctr under test/lang/golden (lib/ and std/
 * too), sorted by name; with `withStdlib`, stdlib/'s modules after them.
 */
export function corpus(repo: string, withStdlib = false): Seed[] {
  const out: Seed[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ctr")) out.push({ name: relative(repo, p), text: readFileSync(p, "utf8") });
    }
  };
  walk(join(repo, "examples"));
  walk(join(repo, "test", "lang", "golden"));
  if (withStdlib) walk(join(repo, "stdlib"));
  return out;
}

const VOCAB = [
  "ns", "hostname", "mount", "rootfs", "chroot", "limit", "map", "exec", "run", "expect", "echo", "sleep", "show",
  "env", "cwd", "user", "cap", "join", "net", "volume", "readonly", "seccomp", "rlimit", "let", "fn", "import",
  "if", "else", "for", "in", "proc", "tmpfs", "bind", "overlay", "dev", "sysfs", "cpu", "cpux", "memory", "pids",
  "cpuset", "foo", "uid", "gid", "output", "exit", "contains", "default", "busybox", "ns", "mounts", "procs", "cgroup",
  "{", "}", "(", ")", ",", ";", "=", "==", "!=", "!", "\n", "\n", "\\\n", "#", '"', "'", '"str ${x}"', "${x}", "${1}",
  "${args}", "${#}", "${env.HOME}", "${", "${x:-d}", "20%", "64m", "1.5g", "500ms", "0", "-1", "4294967296", "size=",
  "size=64m", "mems=0", "swap=0", "period=1ms", "weight=100", "shares=2", "lower=/a:/b", "k=v", "/bin/sh", "-c", "uts",
  "pid", "mnt", "net", "user", "ipc", "time", "none", "utss", "10.0.0.1/24", "0-1,3", "1000:1000", "x", "\t", "é", "🙂",
  "\r\n", "\\", "$", "\u0000", "\u2028", "/dev/zero", "/tmp", '"./lib/util.ctr"', '"std/base"', "ro", "nosuid",
];

const HUGE = ["9007199254740992", "99999999999999999999", "18446744073709551616", "4294967296", "1e309", "0-9007199254740992", "9999999999999999999999999999g", "1.7976931348623157e308"];

const CHARS = ' \n\t{}(),;="\'#\\$!:-=%abcxyz0129/.é';

function pick<T>(rnd: () => number, xs: ArrayLike<T>): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** 10, 100, 1000 or 10000-ish: most amplifications stay small, a few are large. */
function times(rnd: () => number, max: number): number {
  return Math.min(max, Math.floor(10 ** (1 + rnd() * 3.3)));
}

function mutateOnce(s: string, rnd: () => number): string {
  const at = Math.floor(rnd() * (s.length + 1));
  const lines = s.split("\n");
  const li = Math.floor(rnd() * lines.length);
  const r = rnd();
  if (r < 0.143) return s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 5)); // delete a run
  if (r < 0.287) return s.slice(0, at) + pick(rnd, CHARS) + s.slice(at); // insert a character
  if (r < 0.502) return s.slice(0, at) + " " + pick(rnd, VOCAB) + " " + s.slice(at); // insert a token
  if (r < 0.602) return s.slice(0, at) + pick(rnd, CHARS) + s.slice(at + 1); // replace a character
  if (r < 0.688) {
    lines.splice(li, 0, lines[li] ?? ""); // duplicate a line
    return lines.join("\n");
  }
  if (r < 0.774) {
    lines.splice(li, 1); // delete a line
    return lines.join("\n");
  }
  if (r < 0.831) {
    const lj = Math.floor(rnd() * lines.length); // swap two lines
    [lines[li], lines[lj]] = [lines[lj] ?? "", lines[li] ?? ""];
    return lines.join("\n");
  }
  if (r < 0.86) return s.slice(0, at); // truncate
  if (r < 0.888) {
    // a number made huge
    const nums = [...s.matchAll(/\d+(\.\d+)?[%kmgtKMGT]?/g)];
    if (nums.length === 0) return s + "\nlimit cpuset " + pick(rnd, HUGE);
    const m = pick(rnd, nums);
    return s.slice(0, m.index) + pick(rnd, HUGE) + s.slice(m.index! + m[0].length);
  }
  if (r < 0.916) {
    // a line repeated many times
    const line = lines[li] ?? "";
    lines.splice(li, 1, ...new Array<string>(times(rnd, 5000)).fill(line));
    return lines.join("\n");
  }
  if (r < 0.944) {
    // a word (or `${x}`) repeated along its line
    const line = lines[li] ?? "";
    const words = [...line.matchAll(/\$\{[^}]*\}|[^\s,]+/g)];
    const w = words.length ? pick(rnd, words)[0] : pick(rnd, VOCAB);
    const sep = pick(rnd, [" ", ",", "", ", "]);
    lines[li] = line + sep + new Array<string>(times(rnd, 20000)).fill(w).join(sep);
    return lines.join("\n");
  }
  if (r < 0.965) {
    // a list made long
    const items = pick(rnd, ["uts", "pid", "0", "uts,pid", "x", "net_admin"]);
    lines.splice(li, 0, `${pick(rnd, ["ns", "join web", "cap drop", "limit cpuset", "for i in"])} ${new Array<string>(times(rnd, 20000)).fill(items).join(",")}${rnd() < 0.5 ? " { echo ${i} }" : ""}`);
    return lines.join("\n");
  }
  if (r < 0.982) {
    // each `let` doubling the last
    const k = 8 + Math.floor(rnd() * 24);
    const chain = [`let a0 = "${pick(rnd, ["x", "uts", "0123456789", "${x}"])}"`];
    for (let i = 1; i <= k; i++) chain.push(`let a${i} = "\${a${i - 1}}\${a${i - 1}}"`);
    chain.push(pick(rnd, ["echo ${a" + k + "}", "hostname ${a" + k + "}", "ns ${a" + k + "}", "for v in ${a" + k + "}, x { echo ${v} }"]));
    lines.splice(li, 0, ...chain);
    return lines.join("\n");
  }
  // a recursive or fan-out function
  const n = 2 + Math.floor(rnd() * 6);
  lines.splice(li, 0, `fn f${n}(x) { ${new Array<string>(n).fill(`f${n} "\${x}\${x}"`).join("; ")} }`, `f${n} ab`);
  return lines.join("\n");
}

export function mutate(src: string, rnd: () => number): string {
  let s = src;
  const steps = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < steps; k++) s = mutateOnce(s, rnd);
  // Bounded input size: what is tested is the front end, not the disk.
  return s.length > 2_000_000 ? s.slice(0, 2_000_000) : s;
}

export interface FuzzCase {
  /** Which seed file it came from. */
  from: string;
  text: string;
}

/** `n` cases: each seed file in turn, mutated with the PRNG seeded by `seed`. */
export function makeCases(seeds: readonly Seed[], seed: number, n: number): FuzzCase[] {
  const rnd = mulberry32(seed);
  const out: FuzzCase[] = [];
  for (let i = 0; i < n; i++) {
    const base = seeds[i % seeds.length]!;
    out.push({ from: base.name, text: mutate(base.text, rnd) });
  }
  return out;
}
