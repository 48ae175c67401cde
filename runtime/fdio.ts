// Writing to file descriptors without Node's stream machinery.
//
// In Bun, the first touch of process.stdout or process.stderr (even .isTTY)
// builds Node's stream objects, ~10 ms, and node:tty costs as much: more than
// a container's namespaces. ctr's hot paths therefore write with write(2) and
// ask isatty(3) only about character devices.

import { fstatSync, writeSync } from "node:fs";
import { isatty } from "../native/sys.ts";

const pause = new Int32Array(new SharedArrayBuffer(4));

/** A write(2) that failed: the fd and the errno name (`code`, as on Node's own errors). */
export class WriteError extends Error {
  readonly syscall = "write";
  constructor(
    readonly fd: number,
    readonly code: string,
  ) {
    super(`write to fd ${fd}: ${code}`);
  }
}

/** Write all of `data` to `fd`, waiting while a non-blocking fd is full (EAGAIN); a WriteError when write fails. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN") throw new WriteError(fd, code ?? String(e));
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Is `fd` a terminal? Only a character device other than /dev/null can be. */
export function isTerminal(fd: number): boolean {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return false;
  }
  if (!st.isCharacterDevice() || st.rdev === ((1 << 8) | 3)) return false;
  return isatty(fd);
}
