// native/files.ts — the file operations of Sys (native/seam.ts), made through libc like
// every other call of the seam.
//
// Not through node:fs: a Bun process that loads any `node:` module pays ~2.5 ms of CPU
// for Node's compatibility layer, and node:fs ~3 ms more (measured for issue 17, JIT off,
// as every stage runs); PID 1 and the host's direct start (runtime/direct-start.ts) are on
// the container's critical path and need nothing else of node:fs. The calls keep node:fs's
// semantics where the executors rely on them: descriptors are close-on-exec, `exists`
// follows symlinks and never throws, `mkdirp` is mkdir -p, a directory entry of unknown
// type is looked up with lstat. They are not traced (`--trace` shows the calls that change
// the container, not these look-ups and kernel files), so the tracer's own writes
// (runtime/fdio.ts) never come back to it. A failure is a SysError naming the call.
//
// A file of its own so that host code the planner imports (runtime/features/userns/userns.ts,
// runtime/features/cgroup/, which `ctr check` and the CLI's early path load) can take
// `realFiles` without loading the wrappers' modules.

import { AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_WRONLY, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "./constants.ts";
import { SysError } from "./error.ts";
import { C, errno } from "./libc.ts";
import type { DirEntry, FileKind, Sys } from "./seam.ts";

export type FileOps = Pick<
  Sys,
  "exists" | "lstat" | "stat" | "fstat" | "readlink" | "mkdir" | "mkdirp" | "createFile" | "symlink" | "chmod" | "writeFile" | "readFile" | "readdir" | "rmdir" | "open" | "write" | "pread" | "pwrite"
>;

const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
const F_OK = 0;
const STATX_TYPE = 1;
const EEXIST = 17;
const EINTR = 4;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `r`, or the SysError of the call when it is -1 (errno read before anything allocates). */
function check(r: number | bigint, syscall: string, args: () => unknown[]): number {
  const n = Number(r);
  if (n === -1) throw SysError.fromErrno(syscall, args(), errno());
  return n;
}

/** A file's kind from its st_mode. */
class Kind implements FileKind {
  /** st_mode & S_IFMT. */
  constructor(readonly fmt: number) {}
  isDirectory(): boolean {
    return this.fmt === S_IFDIR;
  }
  isFile(): boolean {
    return this.fmt === S_IFREG;
  }
  isSymbolicLink(): boolean {
    return this.fmt === S_IFLNK;
  }
}

/** statx(2) asking for the file type only. `path` "" with AT_EMPTY_PATH is the open file `dirFd`. */
function kindAt(dirFd: number, path: string, flags: number, call: string, args: unknown[]): Kind {
  const buf = new Uint8Array(256);
  check(C.statx(dirFd, path, flags, STATX_TYPE, buf), call, () => args);
  return new Kind((buf[28]! | (buf[29]! << 8)) & S_IFMT);
}

class Entry extends Kind implements DirEntry {
  constructor(
    readonly name: string,
    fmt: number,
  ) {
    super(fmt);
  }
}

/** open(2), close-on-exec; a new file gets 0666 less the umask, as with node:fs. */
function openFile(path: string, flags: number): number {
  return check(C.openat(AT_FDCWD, path, flags | O_CLOEXEC, "uint32_t", 0o666), "open", () => [path, flags]);
}

function closeFile(fd: number): void {
  C.close(fd); // as node:fs's closeSync after a use: an error here has nothing left to lose
}

/** One write(2), or pwrite(2) at `offset`, of `text`: the bytes written (as node:fs's writeSync). */
function writeText(fd: number, text: string, offset: number | null): number {
  const buf = enc.encode(text);
  const r = offset === null ? C.write(fd, buf, buf.byteLength) : C.pwrite(fd, buf, buf.byteLength, offset);
  return check(r, offset === null ? "write" : "pwrite", () => [fd, buf.byteLength]);
}

function readAll(fd: number, path: string): string {
  const chunks: Uint8Array[] = [];
  let size = 4096;
  for (;;) {
    const buf = new Uint8Array(size);
    const r = Number(C.read(fd, buf, size));
    if (r === -1) {
      const e = errno();
      if (e === EINTR) continue;
      throw SysError.fromErrno("read", [path, size], e);
    }
    if (r === 0) break;
    chunks.push(buf.subarray(0, r));
    size = Math.min(size * 2, 1 << 20);
  }
  if (chunks.length === 1) return dec.decode(chunks[0]);
  return dec.decode(Buffer.concat(chunks));
}

function mkdirOne(path: string, mode: number): void {
  check(C.mkdirat(AT_FDCWD, path, mode >>> 0), "mkdir", () => [path, mode]);
}

export const realFiles: FileOps = {
  exists: (path) => C.faccessat(AT_FDCWD, path, F_OK, 0) === 0,
  lstat: (path) => kindAt(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, "lstat", [path]),
  stat: (path) => kindAt(AT_FDCWD, path, 0, "stat", [path]),
  fstat: (fd) => kindAt(fd, "", AT_EMPTY_PATH, "fstat", [fd]),
  readlink: (path) => {
    const buf = new Uint8Array(4096);
    const n = check(C.readlinkat(AT_FDCWD, path, buf, buf.byteLength), "readlink", () => [path]);
    return dec.decode(buf.subarray(0, n));
  },
  mkdir: (path, mode = 0o777) => mkdirOne(path, mode),
  mkdirp: (path) => {
    // mkdir -p: the missing components, from the first that is missing.
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (p === "" || parts[i - 1] === "") continue;
      if (C.mkdirat(AT_FDCWD, p, 0o777) === 0) continue;
      const e = errno();
      if (e === EEXIST && kindAt(AT_FDCWD, p, 0, "stat", [p]).isDirectory()) continue;
      throw SysError.fromErrno("mkdir", [p, 0o777], e);
    }
  },
  createFile: (path) => closeFile(openFile(path, O_WRONLY | O_CREAT | O_APPEND)),
  symlink: (target, path) => void check(C.symlinkat(target, AT_FDCWD, path), "symlink", () => [target, path]),
  chmod: (path, mode) => void check(C.fchmodat(AT_FDCWD, path, mode >>> 0, 0), "chmod", () => [path, mode]),
  // A kernel file: opened as it is (never created or truncated), then one write(2).
  writeFile: (path, text) => {
    const fd = openFile(path, O_WRONLY);
    try {
      const buf = enc.encode(text);
      check(C.write(fd, buf, buf.byteLength), "write", () => [path, text]);
    } finally {
      closeFile(fd);
    }
  },
  readFile: (path) => {
    const fd = openFile(path, 0);
    try {
      return readAll(fd, path);
    } finally {
      closeFile(fd);
    }
  },
  readdir: (path) => {
    const fd = openFile(path, O_DIRECTORY);
    const out: Entry[] = [];
    try {
      const buf = new Uint8Array(32768);
      const v = new DataView(buf.buffer);
      for (;;) {
        const n = check(C.getdents64(fd, buf, buf.byteLength), "getdents64", () => [path]);
        if (n === 0) break;
        // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        for (let off = 0; off < n; ) {
          const reclen = v.getUint16(off + 16, true);
          const type = buf[off + 18]!;
          let end = off + 19;
          while (end < off + reclen && buf[end] !== 0) end++;
          const name = dec.decode(buf.subarray(off + 19, end));
          off += reclen;
          if (name === "." || name === "..") continue;
          const fmt = type === DT_DIR ? S_IFDIR : type === DT_REG ? S_IFREG : type === DT_LNK ? S_IFLNK : type === 0 ? -1 : type << 12;
          // DT_UNKNOWN (a filesystem that does not say): lstat, as node:fs does.
          out.push(new Entry(name, fmt === -1 ? kindAt(fd, name, AT_SYMLINK_NOFOLLOW, "lstat", [`${path}/${name}`]).fmt : fmt));
        }
      }
    } finally {
      closeFile(fd);
    }
    return out;
  },
  rmdir: (path) => void check(C.unlinkat(AT_FDCWD, path, AT_REMOVEDIR), "rmdir", () => [path]),
  open: (path, flags) => openFile(path, flags),
  write: (fd, text) => writeText(fd, text, null),
  pread: (fd, buf, offset) => check(C.pread(fd, buf, buf.byteLength, offset), "pread", () => [fd, buf.byteLength, offset]),
  pwrite: (fd, text, offset) => writeText(fd, text, offset),
};

/**
 * write(2) of `length` bytes of `buf` from `offset`, untraced: the bytes written. For
 * runtime/fdio.ts, which also carries the tracer's own reports.
 */
export function writeFd(fd: number, buf: Uint8Array, offset: number, length: number): number {
  return check(C.write(fd, buf.subarray(offset, offset + length), length), "write", () => [fd, length]);
}

/** The device of `fd` when it is a character device, else null (also when fstat fails). Untraced. */
export function charDeviceOf(fd: number): { major: number; minor: number } | null {
  const buf = new Uint8Array(256);
  if (Number(C.statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, buf)) === -1) return null;
  const v = new DataView(buf.buffer);
  if ((v.getUint16(28, true) & S_IFMT) !== S_IFCHR) return null;
  return { major: v.getUint32(128, true), minor: v.getUint32(132, true) }; // stx_rdev_major, stx_rdev_minor
}

/** access(2) (real ids, as execve's look-up of a command is judged by): whether `path` allows `mode` (X_OK 1, W_OK 2, R_OK 4). Untraced. */
export function accessible(path: string, mode: number): boolean {
  return C.faccessat(AT_FDCWD, path, mode, 0) === 0;
}

/** realpath(3): `path` with every symlink, "." and ".." resolved. Untraced. */
export function realPath(path: string): string {
  const buf = new Uint8Array(4096); // PATH_MAX
  if (C.realpath(path, buf) === null) throw SysError.fromErrno("realpath", [path], errno());
  const end = buf.indexOf(0);
  return dec.decode(buf.subarray(0, end < 0 ? buf.length : end));
}
