// Reading script files: regular files only, and at most MAX_SCRIPT_BYTES.
//
// A script path can name anything: /dev/zero never ends, a FIFO blocks the
// open until someone writes, a directory has no text. The front end's memory
// grows with the size of its input, so the size is bounded before a byte is
// parsed. Measured (\`/usr/bin/time -v\`, one fresh Bun): 1 MiB of one-word
// lines (`echo`, 210,000 statements), the worst case per byte, peaks at
// 383 MB and takes a second; 1 MiB of the benchmark's mixed statements
// (bench/parse.ts, 32,000) at 144 MB. Half of that, 512 KiB, holds the
// 10,000-statement benchmark script (323 KB), is far more than a hand-written
// script needs, and keeps the worst input (a fuzzed script full of errors)
// near a second to check.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { formatSize } from "./values.ts";

/** The largest script (or imported file) ctr reads. */
export const MAX_SCRIPT_BYTES = 512 << 10;

/** Why a script file cannot be read; `code` is the errno name, or EFBIG / ENOTREG for ctr's own limits. */
export class ScriptFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What readScriptFile asks of a file: its type (st_mode & S_IFMT) and size. */
export interface FileFacts {
  /** S_IFREG 0o100000, S_IFDIR 0o040000, S_IFIFO 0o010000, S_IFSOCK 0o140000, S_IFCHR 0o020000, S_IFBLK 0o060000. */
  type: number;
  size: number;
}

/**
 * The calls readScriptFile makes; errors are thrown with the errno name as `code`.
 * node:fs by default; the direct start (runtime/direct-start.ts) gives libc's.
 */
export interface ScriptFileCalls {
  stat(path: string): FileFacts;
  /** open(2) with O_RDONLY | O_NONBLOCK | O_NOCTTY. */
  open(path: string): number;
  fstat(fd: number): FileFacts;
  /** read(2) into `buf` from `offset`, at most `length` bytes. */
  read(fd: number, buf: Uint8Array, offset: number, length: number): number;
  close(fd: number): void;
}

const facts = (st: Stats): FileFacts => ({ type: st.mode & 0o170000, size: st.size });

const NODE_CALLS: ScriptFileCalls = {
  stat: (path) => facts(statSync(path)),
  open: (path) => openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY),
  fstat: (fd) => facts(fstatSync(fd)),
  read: (fd, buf, offset, length) => readSync(fd, buf, offset, length, null),
  close: (fd) => closeSync(fd),
};

const KINDS: Record<number, string> = { 0o040000: "a directory", 0o010000: "a FIFO", 0o140000: "a socket", 0o020000: "a character device", 0o060000: "a block device" };

function refuse(st: FileFacts): ScriptFileError {
  if (st.type === 0o040000) return new ScriptFileError("EISDIR", "it is a directory");
  return new ScriptFileError("ENOTREG", `not a regular file (${KINDS[st.type] ?? "not a regular file"})`);
}

const tooLarge = (max: number) => new ScriptFileError("EFBIG", `larger than ${formatSize(max)}`);
const REGULAR = 0o100000;

/**
 * The text of a script file. Throws a ScriptFileError (or the errno error of
 * stat or open) for what is not a regular file of at most `max` bytes.
 */
export function readScriptFile(path: string, max = MAX_SCRIPT_BYTES, calls: ScriptFileCalls = NODE_CALLS): string {
  // stat before open: opening a FIFO would block, opening a device may act on it.
  const before = calls.stat(path);
  if (before.type !== REGULAR) throw refuse(before);
  if (before.size > max) throw tooLarge(max);
  const fd = calls.open(path);
  try {
    const st = calls.fstat(fd); // the file may have been replaced since the stat
    if (st.type !== REGULAR) throw refuse(st);
    // Read to the end rather than trust st.size: files in /proc say 0.
    let buf = Buffer.alloc(Math.min(max, Math.max(st.size, 4096)) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        const bigger = Buffer.alloc(Math.min(max + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const n = calls.read(fd, buf, got, buf.length - got);
      if (n === 0) break;
      got += n;
      if (got > max) throw tooLarge(max);
    }
    return buf.toString("utf8", 0, got);
  } finally {
    calls.close(fd);
  }
}
