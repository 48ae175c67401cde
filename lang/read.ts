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

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "not a regular file";
}

function refuse(st: Stats): ScriptFileError {
  if (st.isDirectory()) return new ScriptFileError("EISDIR", "it is a directory");
  return new ScriptFileError("ENOTREG", `not a regular file (${kindOf(st)})`);
}

const tooLarge = (max: number) => new ScriptFileError("EFBIG", `larger than ${formatSize(max)}`);

/**
 * The text of a script file. Throws a ScriptFileError (or the errno error of
 * stat or open) for what is not a regular file of at most `max` bytes.
 */
export function readScriptFile(path: string, max = MAX_SCRIPT_BYTES): string {
  // stat before open: opening a FIFO would block, opening a device may act on it.
  const before = statSync(path);
  if (!before.isFile()) throw refuse(before);
  if (before.size > max) throw tooLarge(max);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd); // the file may have been replaced since the stat
    if (!st.isFile()) throw refuse(st);
    // Read to the end rather than trust st.size: files in /proc say 0.
    let buf = Buffer.alloc(Math.min(max, Math.max(st.size, 4096)) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        const bigger = Buffer.alloc(Math.min(max + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > max) throw tooLarge(max);
    }
    return buf.toString("utf8", 0, got);
  } finally {
    closeSync(fd);
  }
}
