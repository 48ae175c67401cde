/**
 * Paths inside a root filesystem being built, resolved the way the container will see them.
 *
 * A container's root is a directory of the host; inside it, an absolute symlink such as
 * `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...` points into the new root, never
 * at the host's. `Root` resolves every path with those rules (absolute targets start again
 * at the root, `..` stops at it) and creates with O_EXCL|O_NOFOLLOW, so a symlink in the tree
 * can never redirect a write to a host file. Files are *copied* (never hard-linked: a
 * container writing to its `/bin/ls` must not be writing to the host's), with their mode.
 * Missing directories are made the way the host has them (its merged-/usr symlinks too).
 *
 * Used by runtime/features/rootfs/build.ts (the builders) and runtime/features/rootfs/cache.ts (the default
 * rootfs's manifest); returns data and throws RootfsError, never prints.
 */
import {
  closeSync,
  constants as fsc,
  copyFileSync,
  chmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { posix } from "node:path";

/** A rootfs could not be built; the message says why and, where it can, what to install. */
export class RootfsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RootfsError";
  }
}

/** lstat, or null when nothing is there. */
export function lstatOrNull(p: string): Stats | null {
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
export class Root {
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
    return this.walkPath(p, "resolving", (next, last) => {
      const st = lstatOrNull(this.host(next));
      return st !== null && st.isSymbolicLink() && (!last || followLast);
    });
  }

  /**
   * Make the directory `p` exist in the root and return its resolved container path.
   * Components that already exist in the root are followed as they are; missing ones are
   * created the way the host has them: a symlink on the host (`/lib -> usr/lib`) becomes the
   * same symlink, a directory becomes a directory with the host's mode, and a component the
   * host lacks becomes a 0755 directory.
   */
  ensureDir(p: string): string {
    return this.walkPath(p, "creating", (next) => {
      let st = lstatOrNull(this.host(next));
      if (!st) {
        const onHost = lstatOrNull(next);
        if (onHost?.isSymbolicLink()) {
          symlinkSync(readlinkSync(next), this.host(next));
          st = lstatSync(this.host(next));
        } else {
          mkdirSync(this.host(next));
          chmodSync(this.host(next), onHost?.isDirectory() ? onHost.mode & 0o7777 : 0o755);
          return false;
        }
      }
      if (st.isSymbolicLink()) return true;
      if (!st.isDirectory()) throw new RootfsError(`${next} exists in ${this.dir} and is not a directory`);
      return false;
    });
  }

  /**
   * Walk container path `p` from the root, one component at a time: `..` goes up (never
   * above the root); for any other component `isLink(next, last)` looks at (or makes) what
   * is at `next` and says whether it is a symlink to follow, whose target's components are
   * then walked (an absolute target starts again at the root). Returns the path reached.
   */
  private walkPath(p: string, doing: string, isLink: (next: string, last: boolean) => boolean): string {
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
      if (isLink(next, parts.length === 0)) {
        if (++hops > 40) throw new RootfsError(`too many levels of symbolic links ${doing} ${p} in ${this.dir}`);
        const target = readlinkSync(this.host(next));
        parts.unshift(...components(target));
        if (target.startsWith("/")) cur = "/";
        continue;
      }
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

/** Every entry under `dir` (not following symlinks), with its container path. */
export function walk(dir: string): Array<{ path: string; st: Stats }> {
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
