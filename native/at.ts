// native/at.ts — files reached from a directory fd: openat, mkdirat, mknodat, symlinkat,
// fchmodat, renameat2, unlinkat, statx, getdents64, fchmod.
//
// A path is looked up again, component by component, every time it is used; another user
// who can write one of its directories can swap a component for a symlink in between. An
// fd of a directory pins that directory: names resolved from it with the *at() calls
// (and O_NOFOLLOW / AT_SYMLINK_NOFOLLOW for the last component) cannot be redirected
// elsewhere. Conventions (errors, tracing) are in trace.ts.

import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, STATX_MNT_ID } from "./constants.ts";
import type { SysError } from "./error.ts";
import { C, errno } from "./libc.ts";
import { emit, en, fail, int, sysno, t0, tracer } from "./trace.ts";

/** openat(2): a new fd for `path` relative to the directory `dirFd` (or AT_FDCWD). */
export function openat(dirFd: number, path: string, flags: number, mode = 0): number {
  const s = t0();
  const r: number = C.openat(dirFd, path, flags, "uint32_t", mode >>> 0);
  return int("openat", r, en(r), [dirFd, path, flags, mode], s);
}

/** mkdirat(2). The mode is masked by the umask, as for mkdir(2). */
export function mkdirat(dirFd: number, path: string, mode: number): void {
  const s = t0();
  const r: number = C.mkdirat(dirFd, path, mode >>> 0);
  int("mkdirat", r, en(r), [dirFd, path, mode], s);
}

/** mknodat(2) (through syscall(2), which every glibc has). The mode is masked by the umask. */
export function mknodat(dirFd: number, path: string, mode: number, dev: number | bigint = 0): void {
  const s = t0();
  const d = BigInt(dev);
  if (d < 0n || d > 0xffffffffn) fail(75 /* EOVERFLOW */, "mknodat", [dirFd, path, mode, dev], s);
  const r = Number(C.syscall(sysno("mknodat"), "int", dirFd, "const char *", path, "uint32_t", mode >>> 0, "uint32_t", Number(d)));
  int("mknodat", r, en(r), [dirFd, path, mode, dev], s);
}

/** symlinkat(2): a link named `path` in the directory `dirFd`, pointing at `target`. */
export function symlinkat(target: string, dirFd: number, path: string): void {
  const s = t0();
  const r: number = C.symlinkat(target, dirFd, path);
  int("symlinkat", r, en(r), [target, dirFd, path], s);
}

/** readlinkat(2): the target of the symlink `path` in the directory `dirFd` (the link itself is not followed). */
export function readlinkat(dirFd: number, path: string): string {
  const s = t0();
  const buf = new Uint8Array(4096);
  const n = Number(C.readlinkat(dirFd, path, buf, buf.byteLength));
  if (n === -1) fail(errno(), "readlinkat", [dirFd, path], s);
  const target = dec.decode(buf.subarray(0, n));
  if (tracer !== null) emit("readlinkat", [dirFd, path], JSON.stringify(target), s);
  return target;
}

/** fchmodat(2) (flags 0: the last component is followed; the callers name files they just made). */
export function fchmodat(dirFd: number, path: string, mode: number, flags = 0): void {
  const s = t0();
  const r: number = C.fchmodat(dirFd, path, mode >>> 0, flags);
  int("fchmodat", r, en(r), flags ? [dirFd, path, mode, flags] : [dirFd, path, mode], s);
}

/** fchownat(2); AT_SYMLINK_NOFOLLOW changes a symlink itself, never what it points at. */
export function fchownat(dirFd: number, path: string, uid: number, gid: number, flags = 0): void {
  const s = t0();
  const r: number = C.fchownat(dirFd, path, uid >>> 0, gid >>> 0, flags);
  int("fchownat", r, en(r), [dirFd, path, uid, gid, flags], s);
}

/** renameat2(2); RENAME_EXCHANGE swaps the two names atomically. */
export function renameat2(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string, flags: number): void {
  const s = t0();
  const r: number = C.renameat2(oldDirFd, oldPath, newDirFd, newPath, flags >>> 0);
  int("renameat2", r, en(r), [oldDirFd, oldPath, newDirFd, newPath, flags], s);
}

/** unlinkat(2): a file or symlink (flags 0; a symlink itself, never its target) or, with AT_REMOVEDIR, an empty directory. */
export function unlinkat(dirFd: number, path: string, flags = 0): void {
  const s = t0();
  const r: number = C.unlinkat(dirFd, path, flags);
  int("unlinkat", r, en(r), [dirFd, path, flags], s);
}

/** utimensat(2) with times NULL: the file's access and modification times set to now. */
export function touchat(dirFd: number, path: string, flags = 0): void {
  const s = t0();
  const r: number = C.utimensat(dirFd, path, null, flags);
  int("utimensat", r, en(r), [dirFd, path, null, flags], s);
}

/** fchmod(2): the mode of an open file, whatever its name now is. */
export function fchmod(fd: number, mode: number): void {
  const s = t0();
  const r: number = C.fchmod(fd, mode >>> 0);
  int("fchmod", r, en(r), [fd, mode], s);
}

/** What statx(2) says of a file (the fields ctr looks at). */
export interface FileStat {
  /** st_mode: file type (S_IFMT bits) and permissions. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: bigint;
  /** The device, "major:minor". */
  dev: string;
  /** The mount's id (as in /proc/self/mountinfo), or 0n when the kernel does not report it (before 5.8). */
  mntId: bigint;
}

/**
 * statx(2) of `path` relative to `dirFd`. With AT_SYMLINK_NOFOLLOW a symlink is described
 * itself (lstat); with path "" and AT_EMPTY_PATH, the open file `dirFd` (fstat).
 * struct statx has one layout on every architecture, unlike struct stat.
 */
export function statx(dirFd: number, path: string, flags = 0): FileStat {
  const s = t0();
  const buf = new Uint8Array(256);
  const r: number = C.statx(dirFd, path, flags, STATX_BASIC_STATS | STATX_MNT_ID, buf);
  if (r === -1) fail(errno(), "statx", [dirFd, path, flags], s);
  const v = new DataView(buf.buffer);
  const mask = v.getUint32(0, true);
  const st: FileStat = {
    nlink: v.getUint32(16, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode: v.getUint16(28, true),
    ino: v.getBigUint64(32, true),
    size: v.getBigUint64(40, true),
    dev: `${v.getUint32(136, true)}:${v.getUint32(140, true)}`,
    mntId: mask & STATX_MNT_ID ? v.getBigUint64(144, true) : 0n,
  };
  if (tracer !== null) emit("statx", [dirFd, path, flags], `{mode=0${st.mode.toString(8)}, uid=${st.uid}, ino=${st.ino}}`, s);
  return st;
}

/** lstat through statx: what is at `path` itself, or null when nothing is (ENOENT, ENOTDIR), as node:fs's throwIfNoEntry: false. */
export function lstatOrNull(path: string): FileStat | null {
  try {
    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  } catch (e) {
    if ((e as SysError).code === "ENOENT" || (e as SysError).code === "ENOTDIR") return null;
    throw e;
  }
}

/** fstat through statx: the open file `fd`. */
export function fstat(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH);
}

/** One entry of a directory, as getdents64(2) returns it. */
export interface DirEntry {
  name: string;
  /** d_type: DT_DIR 4, DT_REG 8, DT_LNK 10…; 0 (DT_UNKNOWN) on filesystems that do not say. */
  type: number;
}

const dec = new TextDecoder();

/**
 * Every entry of the directory open as `fd` (read from its current offset to the end;
 * "." and ".." left out), through getdents64(2): no path is looked up.
 */
export function readDirFd(fd: number): DirEntry[] {
  const out: DirEntry[] = [];
  const buf = new Uint8Array(32768);
  const v = new DataView(buf.buffer);
  for (;;) {
    const s = t0();
    const n = Number(C.getdents64(fd, buf, buf.byteLength));
    if (n === -1) fail(errno(), "getdents64", [fd, buf.byteLength], s);
    if (tracer !== null) emit("getdents64", [fd, buf.byteLength], n, s);
    if (n === 0) return out;
    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    for (let off = 0; off < n; ) {
      const reclen = v.getUint16(off + 16, true);
      const type = buf[off + 18]!;
      const nameStart = off + 19;
      let end = nameStart;
      while (end < off + reclen && buf[end] !== 0) end++;
      const name = dec.decode(buf.subarray(nameStart, end));
      if (name !== "." && name !== "..") out.push({ name, type });
      off += reclen;
    }
  }
}
