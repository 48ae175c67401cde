/**
 * Root filesystems built from the host's own binaries: `ctr rootfs host` and
 * `ctr rootfs busybox`, and the builder behind the default rootfs (runtime/features/rootfs/cache.ts).
 *
 * The idea (chapter 06, the "fake Docker" rootfs)
 * -----------------------------------------------
 * A container's root is just a directory tree. To run `/bin/sh` after `pivot_root` that tree
 * must hold the shell *and everything the kernel and the dynamic loader will open to start
 * it*: the loader named by the ELF `PT_INTERP` header and every shared library reachable
 * through `DT_NEEDED` (see runtime/features/rootfs/elf.ts for how those are read and searched). We copy
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
 * Files are copied, never linked, and every write goes through `Root` (runtime/features/rootfs/root.ts),
 * which resolves paths the way the container will see them, so a symlink in the tree can
 * never redirect a write to a host file.
 *
 * This module returns data and throws errors; it never prints (progress goes to an
 * optional callback).
 */
import { BUILT_GROUP, BUILT_PASSWD } from "./etc.ts";
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { posix } from "node:path";
import { ElfError, isElf, ldSoConfDirs, resolveDependencies, systemLibraryDirs } from "./elf.ts";
import { Root, RootfsError, lstatOrNull, walk } from "./root.ts";
import { hostsText } from "../../ops.ts";

export { RootfsError, resolveInRoot } from "./root.ts";

export type Progress = (message: string) => void;

/** The usual PATH, used when the caller's environment has none. */
export const STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where the default rootfs takes its binaries from: distribution packages only, never /usr/local or the caller's PATH. */
export const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

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
    "/etc/passwd": BUILT_PASSWD,
    "/etc/group": BUILT_GROUP,
    "/etc/hostname": `${hostname}\n`,
    "/etc/hosts": hostsText(hostname),
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
