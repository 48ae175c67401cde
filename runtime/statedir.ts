// The per-container state directories: stateRoot()/ID holds the files bound
// over the container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and the
// scratch/ and root/ mount points of a default or image rootfs's overlay.
//
// Without XDG_RUNTIME_DIR the state root is /tmp/ctr-UID, a name any local
// user can take first: as a directory of their own (ctr would fail), as a
// symlink to one (they could swap the container's files before PID 1 mounts
// them) or as a symlink into the user's home (a sweep of stale directories
// would delete the user's files). So nothing here trusts a path:
//  * every directory above the state root must be owned by root or the user
//    and, if others can write it, sticky (as /tmp is): nobody else can then
//    rename or replace what the user made in it;
//  * the state root is opened with O_NOFOLLOW|O_DIRECTORY and checked on that
//    fd (not a symlink, the user's own, writable by nobody else), or ctr
//    refuses it; below it, every name is resolved from a directory fd with
//    the *at() calls, never following a symlink in the last component;
//  * a directory is removed only when it proves to be ctr's: owned by the
//    user, holding the marker ctr writes before anything else, removed by a
//    walk that never follows a symlink and never leaves its filesystem.
// PID 1 later reaches these files by path (the plan's mounts): that is safe
// because of the first two points (no one else can change any component).

import { chmodSync, readlinkSync } from "node:fs";
import { realFiles, realPath } from "../native/files.ts";
import { basenameOf as basename, dirnameOf as dirname } from "./posix-path.ts";
import {
  AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_TRUNC,
  O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISVTX, SysError, close, fchmod, fstat, gethostname, lstatOrNull, mkdirat, openat, read, readDirFd, statx, unlinkat, write,
  type FileStat,
} from "../native/index.ts";
import { hostsText } from "./ops.ts";
import { stateRoot } from "./paths.ts";
import { userName } from "./features/userns/userns.ts";
import { sameProcess } from "./features/lifecycle/procstat.ts";

/** The file ctr writes first in each container directory; its text is the directory's name. */
export const MARKER = ".ctr-state";
/**
 * A REPL container left running by `:detach` is named after the REPL's PID,
 * which has ended; its supervisor (its stage 1, runtime/features/lifecycle/repl-detach.ts)
 * is named in this file ("PID START"), and the sweeps leave the container's
 * directory and cgroups alone while that process runs.
 */
export const OWNER = ".ctr-owner";

/**
 * The mode of the state root and of each container directory: others may pass
 * through (x) but neither list nor write. A container whose root is mapped to
 * another host uid (`map uid 0 100000 65536`) must still reach its files here.
 */
const DIR_MODE = 0o711;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/** Names of container directories (runtime/paths.ts newContainerId): the owner's PID last. */
const ID_PATTERN = /^ctr-[a-z0-9]+-(\d+)$/;

const myUid = (): number => process.getuid?.() ?? 0;

function refuse(root: string, why: string): never {
  const hint =
    myUid() === 0
      ? `ctr makes ${root} itself (mode 0${DIR_MODE.toString(8)}, owned by root): remove what is there`
      : "another user may have put it there to take over your containers: have its owner or root remove it, or set XDG_RUNTIME_DIR to a directory of your own (mode 0700)";
  throw new SysError({ message: `refusing the state directory ${JSON.stringify(root)}: ${why}`, hint, status: 125 });
}

function hasCode(e: unknown, ...codes: string[]): boolean {
  return e instanceof SysError && codes.includes(e.code);
}

const isType = (st: FileStat, type: number): boolean => (st.mode & S_IFMT) === type;
const sameFile = (a: FileStat, b: FileStat): boolean => a.ino === b.ino && a.dev === b.dev;

/**
 * Every directory from / down to `dir` must be owned by root or the user, and
 * sticky if group or others may write it: those of `dir` as written (a
 * symlink on the way is as safe as the directory holding it) and those of the
 * path it resolves to. Returns the resolved path. Checks by path are enough
 * here: only root or the user could change what they saw.
 */
function checkAncestors(dir: string, root: string): string {
  let real: string;
  try {
    real = realPath(dir);
  } catch (e) {
    throw new SysError({ message: `cannot reach the parent of the state directory ${JSON.stringify(root)}: ${(e as Error).message}`, status: 125 });
  }
  // A Set: without a symlink above, `real` is `dir`, each looked at once.
  for (const path of new Set([...prefixes(dir), ...prefixes(real)])) {
    const st = statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
    if (isType(st, S_IFLNK)) continue;
    if (st.uid !== 0 && st.uid !== myUid()) refuse(root, `${JSON.stringify(path)} above it belongs to ${userName(st.uid)} (uid ${st.uid})`);
    if ((st.mode & 0o022) !== 0 && (st.mode & S_ISVTX) === 0) refuse(root, `other users can write ${JSON.stringify(path)} above it, and it is not sticky`);
  }
  return real;
}

/** "/", "/a", "/a/b" for "/a/b". */
function prefixes(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/")).concat("/");
}

/**
 * Open the state root `root` (creating it with `create`), checked as described
 * at the top. Returns its fd, or null when it does not exist and `create` is
 * false; throws SysError (status 125) when it is not safely the user's.
 */
export function openStateRoot(root: string, create: boolean): number | null {
  return openRoot(root, create, null);
}

/** openStateRoot; with `keep`, the checked parent's O_PATH descriptor is handed to it (the caller closes it), else closed. */
function openRoot(root: string, create: boolean, keep: ((parent: number) => void) | null): number | null {
  const parent = openat(AT_FDCWD, checkAncestors(dirname(root), root), O_PATH | O_DIRECTORY | O_CLOEXEC);
  const name = basename(root);
  let kept = false;
  try {
    if (create) {
      try {
        mkdirat(parent, name, DIR_MODE);
      } catch (e) {
        if (!hasCode(e, "EEXIST")) throw e;
      }
    }
    let st: FileStat;
    try {
      st = statx(parent, name, AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      if (!create && hasCode(e, "ENOENT")) return null;
      throw e;
    }
    if (isType(st, S_IFLNK)) refuse(root, `it is a symlink (to ${JSON.stringify(linkTarget(root))}), which ctr never follows here`);
    if (!isType(st, S_IFDIR)) refuse(root, "it is not a directory");
    if (st.uid !== myUid()) refuse(root, `it belongs to ${userName(st.uid)} (uid ${st.uid}), not to you (uid ${myUid()})`);
    // From here on the fd: O_NOFOLLOW fails on a symlink swapped in since the statx.
    const fd = openat(parent, name, DIR_FLAGS);
    try {
      const now = fstat(fd);
      if (!sameFile(now, st) || now.uid !== myUid()) refuse(root, "it was replaced while ctr opened it");
      if ((now.mode & 0o022) !== 0) refuse(root, `other users can write it (mode 0${(now.mode & 0o7777).toString(8)})`);
      // Ours and writable by nobody else: a mode of an older ctr (0755) or a umask is set right.
      if ((now.mode & 0o7777) !== DIR_MODE) fchmod(fd, DIR_MODE);
    } catch (e) {
      close(fd);
      throw e;
    }
    if (keep) (kept = true), keep(parent);
    return fd;
  } finally {
    if (!kept) close(parent);
  }
}

function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "?";
  }
}

/** Write `text` to `name` in the directory `dirFd`, never through a symlink; `fresh`: the file must not exist yet. */
function writeAt(dirFd: number, name: string, text: string, mode: number, fresh: boolean): void {
  const fd = openat(dirFd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (fresh ? O_EXCL : O_TRUNC), mode);
  try {
    fchmod(fd, mode); // exactly `mode`, whatever the umask
    let data = Buffer.from(text);
    while (data.length > 0) data = data.subarray(write(fd, data));
  } finally {
    close(fd);
  }
}

function readResolvConf(): string {
  try {
    return realFiles.readFile("/etc/resolv.conf");
  } catch {
    return ""; // no resolver configured on the host
  }
}

/**
 * Make the per-container directory stateRoot()/ID with the Docker-style init files, and with
 * `mountPoints` the overlay's scratch/ and root/ (a default or image rootfs). Returns its path.
 */
export function makeStateDir(id: string, hostname: string | null, mountPoints = true): string {
  const root = stateRoot();
  const name = hostname ?? gethostname(); // os.hostname()'s answer, without loading node:os (runtime/lazy-builtins.ts)
  for (let attempt = 1; ; attempt++) {
    let rootFd: number | null = null;
    try {
      rootFd = openStateRoot(root, true)!;
      mkdirat(rootFd, id, DIR_MODE);
      try {
        fillStateDir(rootFd, id, name, mountPoints);
      } catch (e) {
        removeOwned(rootFd, id);
        throw e;
      }
      return `${root}/${id}`;
    } catch (e) {
      // Another ctr of this user removed the state root when it was empty,
      // between our mkdirat of it and our open, or before the container's
      // mkdirat: make it again.
      if (hasCode(e, "ENOENT") && attempt < 3) continue;
      throw e;
    } finally {
      if (rootFd !== null) close(rootFd);
    }
  }
}

function fillStateDir(rootFd: number, id: string, name: string, mountPoints: boolean): void {
  const fd = openat(rootFd, id, DIR_FLAGS);
  try {
    fchmod(fd, DIR_MODE);
    // The marker first: a directory without it is never emptied by a sweep.
    writeAt(fd, MARKER, `${id}\n`, 0o600, true);
    writeAt(fd, "hostname", name + "\n", 0o644, true);
    writeAt(fd, "hosts", hostsText(name), 0o644, true);
    writeAt(fd, "resolv.conf", readResolvConf(), 0o644, true);
    // Only for an overlay: each directory made is one more to remove at the end, on the container's critical path.
    if (mountPoints) {
      mkdirat(fd, "scratch", 0o755);
      mkdirat(fd, "root", 0o755);
    }
  } finally {
    close(fd);
  }
}

/** Rewrite the hostname and hosts files of the container directory `dir` (the REPL's `hostname`). */
export function writeHostnameFiles(dir: string, name: string): void {
  const rootFd = openStateRoot(dirname(dir), false);
  if (rootFd === null) return;
  try {
    const fd = openat(rootFd, basename(dir), DIR_FLAGS);
    try {
      writeAt(fd, "hostname", name + "\n", 0o644, false);
      writeAt(fd, "hosts", hostsText(name), 0o644, false);
    } finally {
      close(fd);
    }
  } finally {
    close(rootFd);
  }
}

/**
 * Remove the container directory `dir` (the session's teardown), then the state
 * root if no other container uses it. Nothing there, or a state root that is
 * not safely the user's: nothing is touched.
 */
export function removeStateDir(dir: string): void {
  const root = dirname(dir);
  let rootFd: number | null;
  let parent = -1;
  try {
    rootFd = openRoot(root, false, (p) => (parent = p));
  } catch {
    return; // not ours to touch (makeStateDir refused it, so nothing of ours is there)
  }
  if (rootFd === null) return;
  try {
    try {
      removeOwned(rootFd, basename(dir));
    } finally {
      close(rootFd);
    }
    // The parent checked once, above: its descriptor, not its path again.
    removeRootAt(parent, root);
  } finally {
    close(parent);
  }
}

/**
 * Remove per-container directories left by a ctr that was killed outright
 * (SIGKILL leaves no chance to clean up): those named after a PID that no
 * longer runs and that prove to be ctr's (removeOwned). A state root that is
 * not safely the user's is left alone, silently: makeStateDir says why when a
 * container needs it.
 */
export function sweepStaleStateDirs(): void {
  const root = stateRoot();
  // The common case, on every start: nothing to sweep. Told by one lstat;
  // anything there is then looked at safely.
  if (lstatOrNull(root) === null) return;
  let rootFd: number | null;
  try {
    rootFd = openStateRoot(root, false);
  } catch {
    return;
  }
  if (rootFd === null) return;
  try {
    for (const { name } of readDirFd(rootFd)) {
      const pid = Number(ID_PATTERN.exec(name)?.[1] ?? 0);
      if (pid <= 0 || pid === process.pid || isRunning(pid) || ownerRuns(rootFd, name)) continue;
      try {
        removeOwned(rootFd, name);
      } catch {
        // removed meanwhile by another ctr's sweep, or not removable: left for the next one
      }
    }
  } finally {
    close(rootFd);
  }
  removeRootIfEmpty(root);
}

/**
 * Whether the owner `pid` of a state directory or cgroup runs. A zombie does
 * not: a supervisor SIGKILLed after its parent (`ctr -d`) exited is the host
 * init's to reap, which may take its time, and nothing of it runs any more.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: another user's process
  }
  try {
    const stat = realFiles.readFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false; // gone meanwhile
  }
}

/**
 * Remove `name` in the state root `rootFd` if it is ctr's: a directory (not a
 * symlink) owned by the user with a marker naming it; an unmarked one only if
 * it is empty (ctr died between its mkdir and its marker). Returns whether it
 * is gone.
 */
function removeOwned(rootFd: number, name: string): boolean {
  let st: FileStat;
  try {
    st = statx(rootFd, name, AT_SYMLINK_NOFOLLOW);
  } catch (e) {
    if (hasCode(e, "ENOENT")) return true;
    throw e;
  }
  if (!isType(st, S_IFDIR) || st.uid !== myUid()) return false;
  const fd = openat(rootFd, name, DIR_FLAGS);
  try {
    const now = fstat(fd);
    if (!sameFile(now, st)) return false;
    if (hasMarker(fd, name)) removeContents(fd, now);
  } finally {
    close(fd);
  }
  try {
    unlinkat(rootFd, name, AT_REMOVEDIR);
    return true;
  } catch (e) {
    if (hasCode(e, "ENOTEMPTY", "EEXIST")) return false; // unmarked and not empty: not provably ctr's
    throw e;
  }
}

/** Name `owner` as the supervisor of the container directory `dir` (OWNER). */
export function writeOwner(dir: string, owner: { pid: number; start: number }): void {
  const rootFd = openStateRoot(dirname(dir), false);
  if (rootFd === null) throw new SysError({ message: `no state directory ${dir}`, status: 125 });
  try {
    const fd = openat(rootFd, basename(dir), DIR_FLAGS);
    try {
      writeAt(fd, OWNER, `${owner.pid} ${owner.start}\n`, 0o600, false);
    } finally {
      close(fd);
    }
  } finally {
    close(rootFd);
  }
}

/** Remove the container directory `name` of the state root open as `rootFd` (a descriptor from openStateRoot): for a supervisor outside the host's mount namespace. */
export function removeStateDirAt(rootFd: number, name: string): boolean {
  return removeOwned(rootFd, name);
}

/** Whether the container directory `name` names a supervisor that runs (OWNER). */
function ownerRuns(rootFd: number, name: string): boolean {
  let dir: number;
  try {
    dir = openat(rootFd, name, DIR_FLAGS);
  } catch {
    return false;
  }
  try {
    const fd = openat(dir, OWNER, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    try {
      const st = fstat(fd);
      if (!isType(st, S_IFREG) || st.uid !== myUid()) return false;
      const buf = new Uint8Array(64);
      const [pid, start] = Buffer.from(buf.subarray(0, read(fd, buf))).toString().trim().split(" ").map(Number);
      return sameProcess({ pid: pid!, start: start! });
    } finally {
      close(fd);
    }
  } catch {
    return false;
  } finally {
    close(dir);
  }
}

/** For the cgroup sweep: whether the container `id`'s directory names a supervisor that runs (OWNER). */
export function supervisedElsewhere(id: string): boolean {
  const root = stateRoot();
  if (lstatOrNull(root) === null) return false;
  let rootFd: number | null;
  try {
    rootFd = openStateRoot(root, false);
  } catch {
    return false;
  }
  if (rootFd === null) return false;
  try {
    return ownerRuns(rootFd, id);
  } finally {
    close(rootFd);
  }
}

function hasMarker(dirFd: number, name: string): boolean {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not block the open.
    fd = openat(dirFd, MARKER, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  } catch {
    return false;
  }
  try {
    const st = fstat(fd);
    if (!isType(st, S_IFREG) || st.uid !== myUid()) return false;
    const buf = new Uint8Array(256);
    const n = read(fd, buf);
    return Buffer.from(buf.subarray(0, n)).toString() === `${name}\n`;
  } finally {
    close(fd);
  }
}

/**
 * Empty the directory `dirFd`: files and symlinks are unlinked (a symlink
 * itself, never what it points to); directories are entered through
 * O_NOFOLLOW fds, and only on the filesystem and mount of `top`.
 */
function removeContents(dirFd: number, top: FileStat): void {
  for (const { name } of readDirFd(dirFd)) {
    const st = statx(dirFd, name, AT_SYMLINK_NOFOLLOW);
    if (!isType(st, S_IFDIR)) {
      unlinkat(dirFd, name, 0);
      continue;
    }
    if (st.dev !== top.dev || st.mntId !== top.mntId) {
      throw new SysError({ message: `not removing ${JSON.stringify(name)} in a state directory: it is a mount point`, status: 125 });
    }
    const fd = openOwnDir(dirFd, name, st);
    try {
      if (!sameFile(fstat(fd), st)) throw new SysError({ message: `not removing ${JSON.stringify(name)} in a state directory: it was replaced meanwhile`, status: 125 });
      if ((st.mode & 0o700) !== 0o700 && st.uid === myUid()) fchmod(fd, 0o700); // a 0500 directory: its entries could not be unlinked
      removeContents(fd, top);
    } finally {
      close(fd);
    }
    unlinkat(dirFd, name, AT_REMOVEDIR);
  }
}

/**
 * Open a directory to empty it. One of the user's own with no read or search
 * permission (overlayfs makes its work directory's "work" mode 000, and a
 * rootless container's upper layer is the user's) is given u+rwx first,
 * through an O_PATH descriptor of the very directory that was looked at.
 */
function openOwnDir(dirFd: number, name: string, st: FileStat): number {
  try {
    return openat(dirFd, name, DIR_FLAGS);
  } catch (e) {
    if (!hasCode(e, "EACCES") || st.uid !== myUid()) throw e;
  }
  const path = openat(dirFd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  try {
    if (!sameFile(fstat(path), st)) throw new SysError({ message: `not removing ${JSON.stringify(name)} in a state directory: it was replaced meanwhile`, status: 125 });
    chmodSync(`/proc/self/fd/${path}`, 0o700); // fchmod(2) refuses O_PATH descriptors
  } finally {
    close(path);
  }
  return openat(dirFd, name, DIR_FLAGS);
}

/** rmdir the state root if it is empty (no other container of the user's runs), by its parent's fd. */
export function removeRootIfEmpty(root: string): void {
  let parent: number;
  try {
    parent = openat(AT_FDCWD, checkAncestors(dirname(root), root), O_PATH | O_DIRECTORY | O_CLOEXEC);
  } catch {
    return;
  }
  try {
    removeRootAt(parent, root);
  } finally {
    close(parent);
  }
}

/** removeRootIfEmpty, in the checked parent `parent` of `root`. */
function removeRootAt(parent: number, root: string): void {
  try {
    const st = statx(parent, basename(root), AT_SYMLINK_NOFOLLOW);
    if (isType(st, S_IFDIR) && st.uid === myUid()) unlinkat(parent, basename(root), AT_REMOVEDIR);
  } catch {
    // not empty (another container runs), or gone
  }
}
