// The compiled-plan cache: repeated runs of an unchanged script skip the front end.
//
// Parsing and checking cost little per statement, but loading the parser
// (chevrotain builds its lookahead tables at start) costs tens of milliseconds,
// more than the rest of a container start. A plan is a pure function of:
// the script's text, its arguments, the environment variables it reads
// (`${env.NAME}`), the CPU count (limit checks), who runs it (state and cache
// directories), and ctr's own code. The key covers all of them. ctr's code
// includes its standard library: the code stamp (runtime/bundle.ts) is the
// newest of its sources and of stdlib/, so a script whose imports are all
// `import "std/NAME"`, written out, is cached; its stdlib files name no
// profile file, no image and no variable of the environment (test/cli/plancache.test.ts
// holds them to it). Scripts that import other files, or name a seccomp profile
// file, are not cached (their files would have to be tracked too).
// Container ids vary per run, so plans are stored with a placeholder id.
//
// A cached plan runs as it is, unchecked (`ctr explain` shows the script's
// plan, not the cache's), so the cache is trusted only as far as it is safe:
//   - the directory must be a real directory owned by the user running ctr
//     and writable by no one else (else anyone who can write there chooses
//     what runs: as root under `sudo -E`, HOME is another user's); otherwise
//     it is not used at all, and `cacheProblem` says why;
//   - each entry is a regular file owned by the user, and names the format,
//     ctr's version and code stamp, the SHA-256 of the script's text, and the
//     SHA-256 of the plan itself: an entry copied under another key, left by
//     another version or edited by hand does not match and is removed;
//   - the directory is bounded: entries unused for MAX_AGE_DAYS go, and the
//     least recently used go beyond MAX_ENTRIES or MAX_BYTES.

import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir } from "node:os";
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../native/constants.ts";
import { fstat, lstatOrNull, openat, touchat, unlinkat } from "../native/at.ts";
import { close, read } from "../native/fd.ts";
import type { Plan } from "./ops.ts";
import { stateRoot } from "./paths.ts";

const ID_PLACEHOLDER = "@CTR-ID@";
const ENV_REF = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)/g;
const ANY_IMPORT = /(^|[\s;{])import\s/g;
const STD_IMPORT = /(^|[\s;{])import\s+"std\/[A-Za-z0-9_-]+(\.ctr)?"(?=\s|;|}|#|$)/g;
// Variables that decide where ctr keeps things, which plans embed.
const LOCATION_ENV = ["HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "SUDO_USER", "XDG_DATA_HOME", "CTR_STORE"];

/** The entry layout; bumped when it changes. */
const FORMAT = 2;
export const MAX_ENTRIES = 256;
export const MAX_BYTES = 8 << 20;
export const MAX_AGE_DAYS = 30;
/** An entry larger than this is not a plan ctr wrote. */
const MAX_ENTRY_BYTES = 1 << 20;

export function cacheDir(): string {
  // HOME first, as os.homedir() looks: node:os is not loaded before PID 1 starts (runtime/lazy-builtins.ts).
  return `${process.env.XDG_CACHE_HOME || `${process.env.HOME || homedir()}/.cache`}/ctr/plans`;
}


/**
 * The number of online CPUs, which the compiler reads as os.cpus().length (the
 * key must change with it): from sysfs through libc ("0-1,4"), os.cpus() when
 * that cannot be read; node:os is not loaded before PID 1 starts either.
 */
function onlineCpus(): number {
  try {
    const fd = openat(AT_FDCWD, "/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
    const buf = Buffer.alloc(4096);
    let n: number;
    try {
      n = read(fd, buf);
    } finally {
      close(fd);
    }
    let count = 0;
    for (const range of buf.toString("utf8", 0, n).trim().split(",")) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(range);
      if (!m) throw new Error(`unexpected ${range}`);
      count += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
    }
    if (count > 0) return count;
  } catch {
    // no sysfs: as the compiler counts
  }
  return cpus().length;
}

/** What identifies a run's plan: its file name in the cache and what the entry must say. */
export interface PlanKey {
  key: string;
  version: string;
  codeStamp: string;
  /** SHA-256 of the script's text. */
  source: string;
}

function sha256(text: string): string {
  // Bun's native hasher: node:crypto alone would add ~5 ms to every start.
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/** The cache key of a script run, or null when the script cannot be cached. */
export function planKey(file: string, text: string, args: readonly string[], codeStamp: string, version: string): PlanKey | null {
  // Every import a written-out one of the standard library (covered by the code stamp), or no cache.
  if (text.match(ANY_IMPORT)?.length !== text.match(STD_IMPORT)?.length) return null;
  // A seccomp profile FILE is read into the plan: its changes would go unseen.
  if (/(^|[\s;{])seccomp\s+(?!(default|none)\s*($|[;}\n#]))/.test(text)) return null;
  // `rootfs image` plans the image's layers as the store has them now: a re-import would make the plan stale.
  if (/(^|[\s;{])rootfs\s+image\s/.test(text)) return null;
  const env: Record<string, string | undefined> = {};
  for (const name of LOCATION_ENV) env[name] = process.env[name];
  for (const m of text.matchAll(ENV_REF)) env[m[1]!] = process.env[m[1]!];
  const source = sha256(text);
  // The state root as chosen now: XDG_RUNTIME_DIR counts only when it is usable (runtime/paths.ts).
  const key = sha256(JSON.stringify({ version, codeStamp, file, source, args, env, cpus: onlineCpus(), uid: process.geteuid?.(), stateRoot: stateRoot() })).slice(0, 32);
  return { key, version, codeStamp, source };
}

export function placeholderId(): string {
  return ID_PLACEHOLDER;
}

const uid = (): number => process.geteuid?.() ?? -1;

/** Why the cache directory must not be used (it exists and is not safe), or null. */
export function cacheProblem(dir = cacheDir()): string | null {
  const st = lstatOrNull(dir);
  if (!st) return null;
  if ((st.mode & S_IFMT) === S_IFLNK) return "it is a symbolic link";
  if ((st.mode & S_IFMT) !== S_IFDIR) return "it is not a directory";
  if (st.uid !== uid()) return `it belongs to uid ${st.uid}, not to ${uid()}`;
  if (st.mode & 0o022) return `it is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/** The cache directory if it exists and is safe; with `create`, made (0700) when absent. */
function safeDir(create: boolean): string | null {
  const dir = cacheDir();
  if (create && !lstatSync(dir, { throwIfNoEntry: false })) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      return null; // read-only home: run without a cache
    }
  }
  if (!lstatOrNull(dir)) return null;
  return cacheProblem(dir) === null ? dir : null;
}

interface Entry {
  format: number;
  version: string;
  codeStamp: string;
  source: string;
  /** SHA-256 of `plan` as stored. */
  digest: string;
  plan: string;
}

/** An entry's text when it is a regular file of ours, not a link, of a plausible size. */
function readEntry(path: string): string | null {
  let fd: number;
  try {
    fd = openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  } catch {
    return null;
  }
  try {
    const st = fstat(fd);
    const size = Number(st.size);
    if ((st.mode & S_IFMT) !== S_IFREG || st.uid !== uid() || st.mode & 0o022 || size > MAX_ENTRY_BYTES) return null;
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = read(fd, buf.subarray(got));
      if (n === 0) break;
      got += n;
    }
    return buf.toString("utf8", 0, got);
  } catch {
    return null;
  } finally {
    close(fd);
  }
}

/** The cached plan for `k` with `id` filled in, or null. */
export function loadPlan(k: PlanKey, id: string): Plan | null {
  const dir = safeDir(false);
  if (!dir) return null;
  const path = `${dir}/${k.key}.json`;
  const text = readEntry(path);
  if (text === null) return null;
  let plan: Plan | null = null;
  try {
    const e = JSON.parse(text) as Entry;
    const matches = e.format === FORMAT && e.version === k.version && e.codeStamp === k.codeStamp && e.source === k.source && typeof e.plan === "string" && sha256(e.plan) === e.digest;
    if (matches) plan = JSON.parse(e.plan.replaceAll(ID_PLACEHOLDER, id)) as Plan;
  } catch {
    plan = null;
  }
  try {
    if (plan) touchat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW); // recently used: the last to be evicted
    else unlinkat(AT_FDCWD, path); // another version's, damaged or edited: compiled again
  } catch {
    // a read-only cache still serves
  }
  return plan;
}

/** Store a plan compiled with the placeholder id. Failures only lose the cache. */
export function storePlan(k: PlanKey, plan: Plan): void {
  const dir = safeDir(true);
  if (!dir) return;
  try {
    const body = JSON.stringify(plan);
    const entry: Entry = { format: FORMAT, version: k.version, codeStamp: k.codeStamp, source: k.source, digest: sha256(body), plan: body };
    const tmp = `${dir}/.${k.key}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, `${dir}/${k.key}.json`); // atomic: readers never see half a plan
  } catch {
    return;
  }
  evict(dir);
}

/** Bounds the directory: entries unused for MAX_AGE_DAYS, then the least recently used beyond MAX_ENTRIES or MAX_BYTES. */
export function evict(dir = cacheDir(), now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const entries: { path: string; size: number; used: number }[] = [];
  const remove = (path: string): void => {
    try {
      rmSync(path, { force: true });
    } catch {
      // not ours to remove: leave it
    }
  };
  for (const name of names) {
    const path = `${dir}/${name}`;
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    // Unused for too long; or left over from a ctr killed while storing.
    if (now - st.mtimeMs > MAX_AGE_DAYS * 86_400_000 || (name.startsWith(".") && now - st.mtimeMs > 3_600_000)) remove(path);
    else if (name.endsWith(".json")) entries.push({ path, size: st.size, used: st.mtimeMs });
  }
  entries.sort((a, b) => b.used - a.used); // most recently used first
  let bytes = 0;
  entries.forEach((e, i) => {
    bytes += e.size;
    if (i >= MAX_ENTRIES || bytes > MAX_BYTES) remove(e.path);
  });
}
