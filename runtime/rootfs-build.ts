/**
 * Root filesystems built from the host's own binaries: `rootfs default`, `ctr rootfs host`
 * and `ctr rootfs busybox`.
 *
 * The idea (seed 000, the "fake Docker" rootfs)
 * ---------------------------------------------
 * A container's root is just a directory tree. To run `/bin/sh` after `pivot_root` that tree
 * must hold the shell *and everything the kernel and the dynamic loader will open to start
 * it*: the loader named by the ELF `PT_INTERP` header and every shared library reachable
 * through `DT_NEEDED` (see runtime/elf.ts for how those are read and searched). We copy
 * them from the host at the very paths the loader will look for inside, mirroring the
 * host's layout, including its merged-/usr symlinks (`/lib -> usr/lib`, `/bin -> usr/bin`),
 * so that the interpreter path baked into every binary (`/lib64/ld-linux-x86-64.so.2`)
 * resolves inside the new root too. Then the few directories and files a Linux userland
 * expects: `/proc`, `/sys`, `/dev`, `/tmp` (1777), `/run`, `/root`, and in `/etc` the
 * `passwd`/`group` that `id` and `ps` read, `hosts`, `hostname`, `resolv.conf` (which a
 * runtime binds over per container, as Docker does) and an `nsswitch.conf` that only
 * uses the lookup modules built into libc, since NSS modules are `dlopen`ed and would not
 * show up in any `DT_NEEDED`.
 *
 * Safety: files are *copied* (never hard-linked: a container writing to its `/bin/ls`
 * must not be writing to the host's), with their mode. Every write goes through `Root`,
 * which resolves paths inside the new root the way the container will see them (an
 * absolute symlink such as `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...` is
 * relative to the new root, never to the host's) and creates with O_EXCL, so a symlink in
 * the tree can never redirect a write to a host file.
 *
 * The default rootfs is built on first use into a cache (`~/.cache/ctr/rootfs/default`)
 * together with a manifest of the host files it came from (path, size, mtime, inode) and
 * of the files it holds. Each use re-`stat`s those (no hashing): a package upgrade on the
 * host, or a container that modified the cached tree, triggers a rebuild. Builds go into a
 * temporary directory next to the cache and are renamed into place under a lock file, so
 * an interrupted or concurrent build never exposes a half-built root.
 *
 * This module returns data and throws errors; it never prints (progress goes to an
 * optional callback).
 */
import {
  closeSync,
  constants as fsc,
  copyFileSync,
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { posix } from "node:path";
import { ElfError, isElf, ldSoConfDirs, resolveDependencies, systemLibraryDirs } from "./elf.ts";

/** A rootfs could not be built; the message says why and, where it can, what to install. */
export class RootfsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RootfsError";
  }
}

export type Progress = (message: string) => void;

/** The usual PATH, used when the caller's environment has none. */
export const STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where the default rootfs takes its binaries from: distribution packages only, never /usr/local or the caller's PATH. */
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------------------------------
// Paths inside the new root

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * A directory being filled as a root filesystem. Paths given to its methods are
 * *container paths* ("/usr/bin/ls"); they are resolved inside the root with the container's
 * view of symlinks, and only ever written below `dir`.
 */
class Root {
  constructor(readonly dir: string) {}

  /** The host path of a container path that has no symlinks left in it. */
  host(p: string): string {
    return p === "/" ? this.dir : this.dir + p;
  }

  /**
   * Resolve a container path inside the root: symlinks are followed as the container would
   * (absolute targets start again at the root, `..` stops at the root); components that do
   * not exist yet are kept as they are. With followLast=false a final symlink is not followed.
   */
  resolve(p: string, followLast = true): string {
    const parts = components(p);
    let cur = "/";
    let hops = 0;
    while (parts.length) {
      const c = parts.shift()!;
      if (c === "..") {
        cur = posix.dirname(cur);
        continue;
      }
      const next = cur === "/" ? `/${c}` : `${cur}/${c}`;
      const st = lstatOrNull(this.host(next));
      if (st?.isSymbolicLink() && (parts.length > 0 || followLast)) {
        if (++hops > 40) throw new RootfsError(`too many levels of symbolic links resolving ${p} in ${this.dir}`);
        const target = readlinkSync(this.host(next));
        parts.unshift(...components(target));
        if (target.startsWith("/")) cur = "/";
        continue;
      }
      cur = next;
    }
    return cur;
  }

  /**
   * Make the directory `p` exist in the root and return its resolved container path.
   * Components that already exist in the root are followed as they are; missing ones are
   * created the way the host has them: a symlink on the host (`/lib -> usr/lib`) becomes the
   * same symlink, a directory becomes a directory with the host's mode, and a component the
   * host lacks becomes a 0755 directory.
   */
  ensureDir(p: string, hops = { n: 0 }): string {
    const parts = components(p);
    let cur = "/";
    while (parts.length) {
      const c = parts.shift()!;
      if (c === "..") {
        cur = posix.dirname(cur);
        continue;
      }
      const next = cur === "/" ? `/${c}` : `${cur}/${c}`;
      let st = lstatOrNull(this.host(next));
      if (!st) {
        const onHost = lstatOrNull(next);
        if (onHost?.isSymbolicLink()) {
          symlinkSync(readlinkSync(next), this.host(next));
          st = lstatSync(this.host(next));
        } else {
          mkdirSync(this.host(next));
          chmodSync(this.host(next), onHost?.isDirectory() ? onHost.mode & 0o7777 : 0o755);
          cur = next;
          continue;
        }
      }
      if (st.isSymbolicLink()) {
        if (++hops.n > 40) throw new RootfsError(`too many levels of symbolic links creating ${p} in ${this.dir}`);
        const target = readlinkSync(this.host(next));
        parts.unshift(...components(target));
        if (target.startsWith("/")) cur = "/";
        continue;
      }
      if (!st.isDirectory()) throw new RootfsError(`${next} exists in ${this.dir} and is not a directory`);
      cur = next;
    }
    return cur;
  }

  /** Create directory `p` (parents as on the host) with an explicit mode; keep it if present. */
  mkdir(p: string, mode: number): string {
    const parent = this.ensureDir(posix.dirname(p));
    const at = posix.join(parent, posix.basename(p));
    const st = lstatOrNull(this.host(at));
    if (st?.isSymbolicLink()) return this.ensureDir(at);
    if (!st) {
      mkdirSync(this.host(at));
      chmodSync(this.host(at), mode);
    } else if (!st.isDirectory()) {
      throw new RootfsError(`${at} exists in ${this.dir} and is not a directory`);
    }
    return at;
  }

  /** True when something (file, directory or symlink, even dangling) is at `p`. */
  exists(p: string): boolean {
    return lstatOrNull(this.host(this.resolve(p, false))) !== null;
  }

  /** Write a new file (fails if anything is there). */
  writeFile(p: string, content: string, mode = 0o644): string {
    const at = posix.join(this.ensureDir(posix.dirname(p)), posix.basename(p));
    const fd = openSync(this.host(at), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    chmodSync(this.host(at), mode);
    return at;
  }

  /** Create a symlink at `p` unless something is already there. Returns false if it was. */
  symlink(p: string, target: string): boolean {
    const at = posix.join(this.ensureDir(posix.dirname(p)), posix.basename(p));
    if (lstatOrNull(this.host(at))) return false;
    symlinkSync(target, this.host(at));
    return true;
  }

  /** Copy a host regular file to container path `p` (a real copy with the host's mode). */
  copyFile(hostPath: string, p: string): string {
    const at = posix.join(this.ensureDir(posix.dirname(p)), posix.basename(p));
    if (lstatOrNull(this.host(at))) return at; // already there (a second name of the same library...)
    const st = statSync(hostPath);
    if (!st.isFile()) throw new RootfsError(`${hostPath} is not a regular file`);
    copyFileSync(hostPath, this.host(at), fsc.COPYFILE_EXCL);
    chmodSync(this.host(at), st.mode & 0o7777);
    return at;
  }

  /**
   * Put the host file `hostPath` at the same path in the root: each symlink of the chain
   * (`/usr/bin/sh -> dash`, `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...`) is
   * recreated and the regular file at its end is copied. Returns the container path of
   * the copy.
   */
  mirrorFile(hostPath: string, depth = 0): string {
    if (depth > 40) throw new RootfsError(`too many levels of symbolic links at ${hostPath}`);
    const dir = this.ensureDir(posix.dirname(hostPath));
    const name = posix.basename(hostPath);
    const at = dir === "/" ? `/${name}` : `${dir}/${name}`;
    const onHost = lstatSync(hostPath);
    if (onHost.isSymbolicLink()) {
      const target = readlinkSync(hostPath);
      this.symlink(at, target);
      const hostDir = realpathSync(posix.dirname(hostPath));
      return this.mirrorFile(target.startsWith("/") ? target : posix.join(hostDir, target), depth + 1);
    }
    return this.copyFile(hostPath, at);
  }
}

/**
 * The host path that container path `p` designates inside the root directory `rootDir`,
 * resolving symlinks the way the container will see them (absolute targets are relative
 * to the root, `..` stops at it), so the result is always below `rootDir`. Components
 * that do not exist are kept. With followLast=false a final symlink is not followed.
 */
export function resolveInRoot(rootDir: string, p: string, followLast = true): string {
  const root = new Root(realpathSync(rootDir));
  return root.host(root.resolve(p, followLast));
}

// ---------------------------------------------------------------------------------------
// Building

export interface HostRootfsOptions {
  /** PATH used to find bare binary names (default: $PATH, else STANDARD_PATH). */
  path?: string;
  /** Extra host files (data: terminfo entries...) copied at the same paths. */
  files?: string[];
  /** Content of /etc/hostname and the 127.0.1.1 line of /etc/hosts (default "ctr"). */
  hostname?: string;
  /** Directories standing for ld.so.cache (default: those of /etc/ld.so.conf). */
  ldconfigDirs?: string[];
  onProgress?: Progress;
}

export interface HostRootfs {
  /** The root directory (absolute, symlinks resolved). */
  dir: string;
  /** Each requested binary: the name asked for, the host path found, its container path. */
  binaries: Array<{ name: string; host: string; path: string }>;
  /** Container paths of the dynamic loaders copied (PT_INTERP). */
  interpreters: string[];
  /** Container paths of the shared libraries copied. */
  libraries: string[];
  /** Applet symlinks made for multi-call binaries (busybox). */
  applets: string[];
  /** Host files the rootfs was made from (followed through symlinks), for cache validation. */
  sources: string[];
  /** Total size of the regular files copied or written, in bytes. */
  bytes: number;
}

/** Find an executable the way execvp does: a path with a slash as is, a bare name through PATH. */
export function findExecutable(name: string, path = process.env.PATH || STANDARD_PATH): string | null {
  const ok = (p: string) => {
    try {
      const st = statSync(p);
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (name.includes("/")) {
    const abs = posix.resolve(name);
    return ok(abs) ? abs : null;
  }
  for (const dir of path.split(":")) {
    if (!dir.startsWith("/")) continue; // relative PATH entries make no sense for a rootfs
    const p = posix.join(dir, name);
    if (ok(p)) return p;
  }
  return null;
}

/** True when the real file behind `hostPath` is a busybox multi-call binary. */
function isBusybox(hostPath: string): boolean {
  try {
    return /^busybox/.test(posix.basename(realpathSync(hostPath)));
  } catch {
    return false;
  }
}

/** The applets of a busybox, as root-relative paths ("bin/ls", "usr/bin/env"...). */
export function busyboxApplets(busybox: string): string[] {
  const run = (arg: string) => {
    const r = Bun.spawnSync([busybox, arg], { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString() : null;
  };
  const full = run("--list-full");
  const lines = (text: string) =>
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.includes(".."));
  if (full) return lines(full);
  const short = run("--list");
  if (short) return lines(short).map((a) => `bin/${posix.basename(a)}`);
  throw new RootfsError(`${busybox} --list failed: not a usable busybox`);
}

/** Shared machinery of the three builders. */
class Builder {
  readonly root: Root;
  readonly result: HostRootfs;
  private readonly sourceSet = new Set<string>();
  private readonly done = new Set<string>();

  constructor(
    dir: string,
    private readonly ldconfigDirs: string[] = ldSoConfDirs(),
  ) {
    mkdirSync(dir, { recursive: true });
    const real = realpathSync(dir);
    if (!statSync(real).isDirectory()) throw new RootfsError(`${dir} is not a directory`);
    if (readdirSync(real).length > 0) throw new RootfsError(`${dir} is not empty: a rootfs is built into a new or empty directory`);
    this.root = new Root(real);
    this.result = { dir: real, binaries: [], interpreters: [], libraries: [], applets: [], sources: [], bytes: 0 };
  }

  private source(hostPath: string): void {
    const real = realpathSync(hostPath);
    if (!this.sourceSet.has(real)) {
      this.sourceSet.add(real);
      this.result.sources.push(real);
    }
  }

  /**
   * Copy a host executable (mirrored at its host path unless `at` is given) with its loader
   * and libraries; scripts bring their `#!` interpreter. Returns its container path.
   */
  addExecutable(host: string, at?: string, depth = 0): string {
    const path = at ? this.root.copyFile(host, at) : this.root.mirrorFile(host);
    this.source(host);
    const real = realpathSync(host);
    if (this.done.has(real)) return path;
    this.done.add(real);

    if (!isElf(host)) {
      // A script: bring its interpreter ("#!/bin/sh -e" -> /bin/sh).
      const head = readFileSync(host).subarray(0, 256).toString("latin1");
      const m = /^#!\s*(\/\S+)/.exec(head);
      if (m && depth < 4) {
        const interp = findExecutable(m[1]!);
        if (!interp) throw new RootfsError(`${host}: its interpreter ${m[1]} is not on the host`);
        this.addExecutable(interp, undefined, depth + 1);
      }
      return path;
    }

    let closure;
    try {
      closure = resolveDependencies(host, { ldconfigDirs: this.ldconfigDirs });
    } catch (e) {
      if (e instanceof ElfError) throw new RootfsError(`cannot inspect ${host}: ${e.message}`);
      throw e;
    }
    if (closure.missing.length) {
      const m = closure.missing.map((x) => `${x.name} (needed by ${x.neededBy})`).join(", ");
      throw new RootfsError(`${host}: shared libraries not found on the host: ${m}`);
    }
    if (closure.interp) {
      if (!lstatOrNull(closure.interp)) throw new RootfsError(`${host}: its dynamic loader ${closure.interp} is missing on the host`);
      const p = this.root.mirrorFile(closure.interp);
      this.source(closure.interp);
      if (!this.result.interpreters.includes(p)) this.result.interpreters.push(p);
    }
    const system = systemLibraryDirs(closure.elf.machine, closure.elf.bits);
    for (const lib of closure.libraries) {
      let p: string;
      if (lib.source !== "ldconfig" || system.includes(lib.dir)) {
        // Found through rpath/runpath or a built-in directory: the loader inside will look
        // at the same path, so mirror it.
        p = this.root.mirrorFile(lib.path);
      } else {
        // Found only through ld.so.cache (e.g. /usr/local/lib): the new root has no cache,
        // so put it, under its DT_NEEDED name, in the first built-in directory the host has.
        const dir = system.find((d) => lstatOrNull(d)) ?? system[0]!;
        p = this.root.copyFile(lib.path, posix.join(dir, lib.name));
      }
      this.source(lib.path);
      if (!this.result.libraries.includes(p)) this.result.libraries.push(p);
    }
    return path;
  }

  /** Symlinks for every applet of a busybox at container path `bbPath`; existing entries win. */
  addApplets(hostBusybox: string, bbPath: string): void {
    for (const rel of busyboxApplets(hostBusybox)) {
      const p = `/${rel}`;
      // linuxrc is busybox's initrd init: meaningless in a container (Docker's image lacks it too).
      if (p === bbPath || p === "/linuxrc" || this.root.exists(p)) continue;
      if (this.root.symlink(p, bbPath)) this.result.applets.push(p);
    }
  }

  /** Copy a host data file at the same path (symlink chain mirrored). */
  addFile(host: string): void {
    this.root.mirrorFile(host);
    this.source(host);
  }

  /** Make /bin/sh point at a dash or bash of the rootfs when there is none. */
  provideSh(): void {
    if (this.root.exists("/bin/sh")) return;
    for (const shell of ["dash", "bash"]) {
      const b = this.result.binaries.find((x) => posix.basename(realpathSync(x.host)) === shell);
      if (!b) continue;
      const binDir = this.root.ensureDir("/bin");
      const real = this.root.resolve(b.path);
      this.root.symlink("/bin/sh", posix.dirname(real) === binDir ? posix.basename(real) : real);
      return;
    }
  }

  /** The directories and /etc files every root needs. */
  finish(hostname: string): HostRootfs {
    const r = this.root;
    for (const [p, mode] of [
      ["/proc", 0o555],
      ["/sys", 0o555],
      ["/dev", 0o755],
      ["/dev/pts", 0o755],
      ["/dev/shm", 0o1777],
      ["/tmp", 0o1777],
      ["/run", 0o755],
      ["/root", 0o700],
      ["/mnt", 0o755],
      ["/etc", 0o755],
    ] as const) {
      r.mkdir(p, mode);
    }
    for (const [p, content] of Object.entries(etcFiles(hostname))) {
      if (!r.exists(p)) r.writeFile(p, content);
    }
    // mount(8) without arguments, df and others read /etc/mtab.
    r.symlink("/etc/mtab", "../proc/self/mounts");
    this.result.bytes = treeBytes(r.dir);
    return this.result;
  }
}

/** The /etc files of a fresh root, Docker-like. hosts/hostname/resolv.conf are placeholders a runtime binds over. */
function etcFiles(hostname: string): Record<string, string> {
  return {
    "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "/etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "/etc/hostname": `${hostname}\n`,
    "/etc/hosts": `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`,
    "/etc/resolv.conf": "# ctr rootfs placeholder; a container gets its own copy bound over this file\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
    // Only lookups built into glibc (>= 2.34 has files and dns inside libc.so.6): NSS
    // modules are dlopen()ed and are not in the rootfs.
    "/etc/nsswitch.conf":
      "passwd: files\ngroup: files\nshadow: files\ngshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n",
  };
}

/** Sum of the sizes of the regular files under `dir`. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of walk(dir)) if (e.st.isFile()) total += e.st.size;
  return total;
}

/** Every entry under `dir` (not following symlinks), with its container path. */
function walk(dir: string): Array<{ path: string; st: Stats }> {
  const out: Array<{ path: string; st: Stats }> = [];
  const visit = (rel: string) => {
    for (const name of readdirSync(dir + rel).sort()) {
      const p = `${rel}/${name}`;
      const st = lstatSync(dir + p);
      out.push({ path: p, st });
      if (st.isDirectory()) visit(p);
    }
  };
  visit("");
  return out;
}

/**
 * Build a minimal root in `dir` (new or empty) from host binaries: each one (bare names are
 * looked up in PATH), its dynamic loader and its libraries at the host's paths, the host's
 * /bin, /sbin, /lib... layout (merged-/usr symlinks included), busybox applet links, /bin/sh
 * when a dash or bash is included, the standard directories and /etc files.
 */
export function buildHostRootfs(dir: string, binaries: string[], opts: HostRootfsOptions = {}): HostRootfs {
  if (binaries.length === 0) throw new RootfsError("no binaries to put in the rootfs");
  const hosts = binaries.map((name) => {
    const host = findExecutable(name, opts.path);
    if (!host) throw new RootfsError(`${name}: not found${name.includes("/") ? "" : " in PATH"} on the host`);
    return { name, host };
  });
  const b = new Builder(dir, opts.ldconfigDirs);
  opts.onProgress?.(`building a rootfs from ${hosts.length} host binaries in ${b.root.dir}`);
  // The host's top-level layout first, so /bin, /lib... are symlinks where the host has them.
  for (const d of ["/bin", "/sbin", "/usr/bin", "/usr/sbin"]) b.root.ensureDir(d);
  for (const d of ["/lib", "/lib64"]) if (lstatOrNull(d)?.isSymbolicLink()) b.root.ensureDir(d);

  for (const { name, host } of hosts) {
    const path = b.addExecutable(host);
    b.result.binaries.push({ name, host, path });
    if (isBusybox(host)) b.addApplets(host, path);
  }
  for (const f of opts.files ?? []) b.addFile(f);
  b.provideSh();
  return b.finish(opts.hostname ?? "ctr");
}

/** Where a busybox is on this host, or null. */
export function findBusybox(path = process.env.PATH || STANDARD_PATH): string | null {
  for (const p of ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"]) if (findExecutable(p)) return p;
  return findExecutable("busybox", path);
}

export interface BusyboxRootfsOptions {
  /** The busybox binary (default: /bin/busybox, else busybox in PATH). */
  busybox?: string;
  hostname?: string;
  onProgress?: Progress;
}

/**
 * Build a busybox root in `dir`: /bin/busybox plus a symlink per applet (at the paths
 * `busybox --list-full` gives), the standard directories and /etc files. A static busybox
 * needs nothing else; a dynamic one brings its loader and libraries.
 */
export function buildBusyboxRootfs(dir: string, opts: BusyboxRootfsOptions = {}): HostRootfs {
  const bb = opts.busybox ? findExecutable(opts.busybox) : findBusybox();
  if (!bb) {
    throw new RootfsError(
      opts.busybox
        ? `${opts.busybox}: not found`
        : "no busybox on this host: install a static one (Debian/Ubuntu: apt-get install busybox-static; Fedora: dnf install busybox; Alpine: apk add busybox-static)",
    );
  }
  const b = new Builder(dir);
  opts.onProgress?.(`building a busybox rootfs from ${bb} in ${b.root.dir}`);
  // A self-contained layout, like Docker's busybox image: real directories, not the host's symlinks.
  for (const d of ["/bin", "/sbin", "/usr/bin", "/usr/sbin"]) b.root.mkdir(d, 0o755);
  const path = b.addExecutable(bb, "/bin/busybox");
  b.result.binaries.push({ name: "busybox", host: bb, path });
  b.addApplets(bb, path);
  if (!b.root.exists("/bin/sh")) b.root.symlink("/bin/sh", "busybox");
  return b.finish(opts.hostname ?? "ctr");
}

// ---------------------------------------------------------------------------------------
// The default rootfs, cached

/**
 * The binaries of `rootfs default`, the tools the chapters' experiments use. The shell is
 * required; any other one missing from the host is skipped. `bash` is there because the
 * seeds' transcripts use it; `chroot` for chapter 06 (chroot vs pivot_root, and escaping a
 * chroot from inside); `dd` allocates a buffer of `bs` bytes (chapter 08's memory hog).
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
];

/** Terminal descriptions for `top` and friends (tiny files; the common $TERM values). */
const TERMINFO_NAMES = ["dumb", "linux", "vt100", "vt220", "xterm", "xterm-256color", "screen", "screen-256color", "tmux", "tmux-256color"];
const TERMINFO_DIRS = ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"];

/** Bump when the layout of the default rootfs changes, to rebuild existing caches. */
const BUILDER_VERSION = 1;

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
  else base = posix.join(env.HOME?.startsWith("/") ? env.HOME : userInfo().homedir, ".cache");
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

function manifestKey(binaries: readonly string[], path: string): string {
  return createHash("sha256")
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
    const tmp = `${parent}/.${posix.basename(cacheDir)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
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
    retired = `${parent}/.${base}.old-${process.pid}-${randomBytes(4).toString("hex")}`;
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
  const me = `${process.pid} ${Date.now()} ${randomBytes(8).toString("hex")}`;
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
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
