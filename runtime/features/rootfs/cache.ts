/**
 * The default rootfs (`rootfs default`), built on first use from the host's binaries and
 * kept in a cache (`~/.cache/ctr/rootfs/default`, `/var/cache/ctr/rootfs/default` for root).
 *
 * Next to the root the cache holds a manifest of the host files it came from (path, size,
 * mtime, inode) and of the files it holds. Each use re-`stat`s those (no hashing): a package
 * upgrade on the host, or a container that modified the cached tree, triggers a rebuild.
 * Builds go into a temporary directory next to the cache and are renamed into place under
 * a lock file, so an interrupted or concurrent build never exposes a half-built root; a
 * replaced cache is removed once no process has it as its root.
 *
 * This module returns data and throws errors; it never prints (progress goes to an
 * optional callback).
 */
import {
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { posix } from "node:path";
import { isElf, ldSoConfDirs, resolveDependencies } from "./elf.ts";
import { SYSTEM_PATH, buildHostRootfs, findExecutable, type Progress } from "./build.ts";
import { RootfsError, lstatOrNull, walk } from "./root.ts";


/**
 * The binaries of `rootfs default`, the tools the chapters' experiments use. The shell is
 * required; any other one missing from the host is skipped. `bash` is there because the
 * walkthroughs' transcripts use it; `chroot` for chapter 06 (chroot vs pivot_root, and escaping a
 * chroot from inside); `dd` allocates a buffer of `bs` bytes (chapter 08's memory hog); `ip`
 * and `ping` for chapter 10 (the network: links, addresses, routes, and a ping across a veth).
 */
export const DEFAULT_BINARIES: readonly string[] = [
  "bash",
  "ls",
  "ps",
  "top",
  "cat",
  "mount",
  "umount",
  "hostname",
  "id",
  "ipcs",
  "ipcmk",
  "sleep",
  "uname",
  "env",
  "echo",
  "true",
  "false",
  "mkdir",
  "rm",
  "touch",
  "cp",
  "mv",
  "ln",
  "grep",
  "readlink",
  "stat",
  "kill",
  "head",
  "tail",
  "wc",
  "dd",
  "nproc",
  "chroot",
  "ip",
  "ping",
];

/** Terminal descriptions for `top` and friends (tiny files; the common $TERM values). */
const TERMINFO_NAMES = ["dumb", "linux", "vt100", "vt220", "xterm", "xterm-256color", "screen", "screen-256color", "tmux", "tmux-256color"];
const TERMINFO_DIRS = ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"];

/** Bump when the layout of the default rootfs changes, to rebuild existing caches. */
const BUILDER_VERSION = 2;

export interface DefaultRootfsOptions {
  /** Override the binary list (default: a shell plus DEFAULT_BINARIES). */
  binaries?: string[];
  /** Where to look for them (default: /usr/sbin:/usr/bin:/sbin:/bin). */
  path?: string;
  onProgress?: Progress;
  /** How long to wait for another process's build (ms, default 180000). */
  lockTimeoutMs?: number;
}

/**
 * The default cache directory: $XDG_CACHE_HOME/ctr/rootfs/default, else
 * ~/.cache/ctr/rootfs/default. Under sudo (root with SUDO_USER set) it is root's own home,
 * from the password database, whatever HOME or XDG_CACHE_HOME the invoking user passed.
 */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  let base: string;
  const uid = process.getuid?.() ?? -1;
  // Root keeps it in /var/cache: a container whose root is mapped to another
  // uid (`ns user` + `map`) must still be able to read it, and /root is 0700.
  if (uid === 0) base = "/var/cache";
  else if (env.XDG_CACHE_HOME?.startsWith("/")) base = env.XDG_CACHE_HOME;
  // node:os on first use: its module costs a stage ~1 ms at start (issue 17).
  else base = posix.join(env.HOME?.startsWith("/") ? env.HOME : (require("node:os") as typeof import("node:os")).userInfo().homedir, ".cache");
  return posix.join(base, "ctr", "rootfs", "default");
}

/**
 * The cache's manifest. `sources` and `entries` are [path, size, mtimeMs, ino] tuples.
 * Layout of a cache directory: `rootfs/` (the root) and `manifest.json`.
 */
interface Manifest {
  version: number;
  /** Hash of what was asked for (builder version, binary list, search path, uid). */
  key: string;
  created: string;
  /** Host files the rootfs came from, stat()ed (symlinks followed). */
  sources: Array<[string, number, number, number]>;
  /** Host paths that did not exist at build time (optional binaries): their appearance means a rebuild. */
  absent: string[];
  /** Every non-directory entry of the rootfs, lstat()ed: detects a tree modified after the build. */
  entries: Array<[string, number, number, number]>;
  bytes: number;
  buildMs: number;
}

// Bun's hasher and the global Web Crypto, not node:crypto: importing that module
// loads Node's stream machinery, several ms on every start of a container with a rootfs.
function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

function manifestKey(binaries: readonly string[], path: string): string {
  return new Bun.CryptoHasher("sha256")
    .update(JSON.stringify([BUILDER_VERSION, binaries, path, process.getuid?.() ?? -1]))
    .digest("hex")
    .slice(0, 32);
}

export type CacheCheck = { valid: true; manifest: Manifest } | { valid: false; reason: string };

/**
 * The fast path: is the cache at `cacheDir` complete and up to date for `key`? Only reads
 * the manifest and stat()s the files it lists.
 */
function checkCache(cacheDir: string, key: string): CacheCheck {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(`${cacheDir}/manifest.json`, "utf8")) as Manifest;
  } catch {
    return { valid: false, reason: "no manifest" };
  }
  if (m.version !== BUILDER_VERSION || m.key !== key) return { valid: false, reason: "built for another configuration" };
  for (const [p, size, mtime, ino] of m.sources) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtime || st.ino !== ino) return { valid: false, reason: `host file changed: ${p}` };
  }
  for (const p of m.absent) {
    if (statSync(p, { throwIfNoEntry: false })) return { valid: false, reason: `host file appeared: ${p}` };
  }
  const root = `${cacheDir}/rootfs`;
  for (const [p, size, mtime, ino] of m.entries) {
    let st: Stats | undefined;
    try {
      st = lstatSync(root + p);
    } catch {
      st = undefined;
    }
    if (!st || st.size !== size || st.mtimeMs !== mtime || st.ino !== ino) return { valid: false, reason: `rootfs file changed: ${p}` };
  }
  return { valid: true, manifest: m };
}

/** Check a default-rootfs cache without building (for `ctr rootfs` status and tests). */
export function checkDefaultRootfs(cacheDir = defaultCacheDir(), opts: DefaultRootfsOptions = {}): CacheCheck {
  const { binaries, path } = defaultConfig(opts);
  return checkCache(cacheDir, manifestKey(binaries, path));
}

function defaultConfig(opts: DefaultRootfsOptions): { binaries: readonly string[]; path: string } {
  return { binaries: opts.binaries ?? DEFAULT_BINARIES, path: opts.path ?? SYSTEM_PATH };
}

/**
 * The default root filesystem, built on first use into `cacheDir` and returned as the path
 * of the root directory (`<cacheDir>/rootfs`). Later calls only stat the files listed in
 * the manifest and return at once; a change on the host rebuilds it. Synchronous: the fast
 * path costs well under a millisecond, a build a few hundred.
 *
 * The root has /bin/sh (the host's sh when it is dash or bash, else dash or bash): without
 * one this throws. Other binaries missing from the host are skipped.
 */
export function defaultRootfs(cacheDir: string = defaultCacheDir(), opts: DefaultRootfsOptions = {}): string {
  cacheDir = posix.resolve(cacheDir);
  const { binaries, path } = defaultConfig(opts);
  const key = manifestKey(binaries, path);
  const rootfs = `${cacheDir}/rootfs`;
  if (checkCache(cacheDir, key).valid) return rootfs;

  const parent = posix.dirname(cacheDir);
  mkdirSync(parent, { recursive: true });
  const release = acquireLock(`${cacheDir}.lock`, opts.lockTimeoutMs ?? 180_000, opts.onProgress);
  try {
    const again = checkCache(cacheDir, key); // built by another process while we waited?
    if (again.valid) return rootfs;
    opts.onProgress?.(`building the default rootfs in ${cacheDir} (${again.reason})`);
    collectGarbage(cacheDir);
    const tmp = `${parent}/.${posix.basename(cacheDir)}.tmp-${process.pid}-${randomHex(4)}`;
    try {
      mkdirSync(tmp, { mode: 0o755 });
      const manifest = buildDefault(`${tmp}/rootfs`, binaries, path, key, opts.onProgress);
      const fd = openSync(`${tmp}/manifest.json`, "wx", 0o644);
      try {
        writeSync(fd, JSON.stringify(manifest));
      } finally {
        closeSync(fd);
      }
      install(tmp, cacheDir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    release();
  }
  return rootfs;
}

export interface DefaultSelection {
  /** Host paths to build from, the shell first (as looked up: `/usr/bin/sh`, not `/usr/bin/dash`). */
  binaries: string[];
  /** Host paths that were looked for and not found (their appearance later means a rebuild). */
  absent: string[];
}

/**
 * Which host binaries make the default rootfs: a shell (the host's sh when it is dash or
 * bash, else dash, else bash; none is an error) and those of `names` present on the host
 * with all their libraries. Also what `ctr rootfs host DIR` uses when given no binaries.
 */
export function selectDefaultBinaries(names: readonly string[] = DEFAULT_BINARIES, path: string = SYSTEM_PATH): DefaultSelection {
  const absent: string[] = [];
  const dirs = path.split(":").filter((d) => d.startsWith("/"));
  const notFound = (name: string) => absent.push(...dirs.map((d) => posix.join(d, name)));

  const binaries: string[] = [];
  const sh = findExecutable("sh", path);
  const shReal = sh ? posix.basename(realpathSync(sh)) : null;
  if (sh && (shReal === "dash" || shReal === "bash")) binaries.push(sh);
  else {
    const alt = findExecutable("dash", path) ?? findExecutable("bash", path);
    if (!alt) throw new RootfsError("the default rootfs needs a shell: install dash or bash on the host (or use `rootfs busybox`)");
    binaries.push(alt);
    notFound("sh");
  }
  const ldconfigDirs = ldSoConfDirs();
  for (const name of names) {
    const p = findExecutable(name, path);
    // A binary whose libraries are missing is broken on the host too: skip it like an absent one.
    if (!p || (isElf(p) && resolveDependencies(p, { ldconfigDirs }).missing.length > 0)) {
      notFound(name);
      continue;
    }
    binaries.push(p);
  }
  return { binaries, absent: [...new Set(absent)].filter((p) => !statSync(p, { throwIfNoEntry: false })) };
}

function buildDefault(dir: string, names: readonly string[], path: string, key: string, progress?: Progress): Manifest {
  const t0 = performance.now();
  const { binaries, absent } = selectDefaultBinaries(names, path);
  const files: string[] = [];
  for (const name of TERMINFO_NAMES) {
    for (const d of TERMINFO_DIRS) {
      const p = `${d}/${name[0]}/${name}`;
      if (statSync(p, { throwIfNoEntry: false })?.isFile()) {
        files.push(p);
        break;
      }
    }
  }

  const result = buildHostRootfs(dir, binaries, { path, files, onProgress: progress });
  const sources: Manifest["sources"] = [];
  // The binaries as looked up (a retargeted symlink shows up there) and every file copied.
  for (const p of [...new Set([...binaries, ...result.sources])]) {
    const st = statSync(p);
    sources.push([p, st.size, st.mtimeMs, st.ino]);
  }
  const entries: Manifest["entries"] = walk(dir)
    .filter((e) => !e.st.isDirectory())
    .map((e) => [e.path, e.st.size, e.st.mtimeMs, e.st.ino]);
  return {
    version: BUILDER_VERSION,
    key,
    created: new Date().toISOString(),
    sources,
    absent,
    entries,
    bytes: result.bytes,
    buildMs: Math.round(performance.now() - t0),
  };
}

/** Move a finished build into place; a previous cache is retired and removed when unused. */
function install(tmp: string, cacheDir: string): void {
  const parent = posix.dirname(cacheDir);
  const base = posix.basename(cacheDir);
  let retired: string | null = null;
  if (lstatOrNull(cacheDir)) {
    retired = `${parent}/.${base}.old-${process.pid}-${randomHex(4)}`;
    renameSync(cacheDir, retired);
  }
  renameSync(tmp, cacheDir);
  if (retired) collectGarbage(cacheDir);
}

/**
 * Remove what earlier builds left next to the cache: temporary directories of processes
 * that died mid-build, and retired caches that no process uses as its root any more
 * (a running container may still have one as `/`: it is kept until a later build).
 */
function collectGarbage(cacheDir: string): void {
  const parent = posix.dirname(cacheDir);
  const base = posix.basename(cacheDir);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  let roots: Array<[number, number]> | null = null;
  for (const name of names) {
    const tmp = new RegExp(`^\\.${escapeRe(base)}\\.tmp-(\\d+)-`).exec(name);
    if (tmp) {
      if (!pidAlive(Number(tmp[1]))) rmSync(`${parent}/${name}`, { recursive: true, force: true });
      continue;
    }
    if (name.startsWith(`.${base}.old-`)) {
      roots ??= processRoots();
      const st = statSync(`${parent}/${name}/rootfs`, { throwIfNoEntry: false });
      if (st && roots.some(([dev, ino]) => dev === st.dev && ino === st.ino)) continue;
      rmSync(`${parent}/${name}`, { recursive: true, force: true });
    }
  }
}

/** (dev, ino) of the root directory of every process we can see. */
function processRoots(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const st = statSync(`/proc/${pid}/root`);
      out.push([st.dev, st.ino]);
    } catch {
      // gone, or not ours to inspect
    }
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock older than this is stale whatever its pid says (pids are reused; a build takes about a second). */
const LOCK_STALE_MS = 120_000;

/**
 * Take `lockPath`, a file holding "pid timestamp nonce", created atomically with link(2)
 * (its content is complete the moment it exists). A lock whose process is gone, or older
 * than LOCK_STALE_MS, is broken. Returns the release function.
 */
function acquireLock(lockPath: string, timeoutMs: number, progress?: Progress): () => void {
  const me = `${process.pid} ${Date.now()} ${randomHex(8)}`;
  const mine = `${lockPath}.${process.pid}.${randomHex(4)}`;
  const fd = openSync(mine, "wx", 0o644);
  try {
    writeSync(fd, me);
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + timeoutMs;
  let told = false;
  try {
    for (;;) {
      try {
        linkSync(mine, lockPath);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      let held: string;
      try {
        held = readFileSync(lockPath, "utf8");
      } catch {
        continue; // released between our link and our read
      }
      const [pid, ts] = held.split(" ").map(Number);
      if (!pidAlive(pid!) || Date.now() - (ts ?? 0) > LOCK_STALE_MS) {
        // Break it only if it is still the same lock we judged.
        try {
          if (readFileSync(lockPath, "utf8") === held) unlinkSync(lockPath);
        } catch {
          // someone else broke or released it
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new RootfsError(`timed out waiting for ${lockPath} (held by pid ${pid}); remove it if no ctr is running`);
      }
      if (!told) {
        progress?.(`waiting for process ${pid}, which is building the same rootfs`);
        told = true;
      }
      Bun.sleepSync(20);
    }
  } finally {
    unlinkSync(mine);
  }
  return () => {
    try {
      if (readFileSync(lockPath, "utf8") === me) unlinkSync(lockPath);
    } catch {
      // already gone
    }
  };
}
