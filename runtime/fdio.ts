// Writing to file descriptors without Node's stream machinery.
//
// In Bun, the first touch of process.stdout or process.stderr (even .isTTY)
// builds Node's stream objects, ~10 ms, and node:tty costs as much: more than
// a container's namespaces. ctr's hot paths therefore write with write(2) and
// ask isatty(3) only about character devices. Both through libc, untraced
// (native/files.ts): node:fs would cost each stage that loads it ~5 ms (ibid.),
// and the tracer's reports are themselves written here.

import { charDeviceOf, writeFd } from "../native/files.ts";
import { isatty, read } from "../native/sys.ts";

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
      off += writeFd(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== "EAGAIN") throw new WriteError(fd, code ?? String(e));
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Write all of `data` like writeAll, but when write fails (the reader went away: EPIPE) drop the rest instead of throwing. */
export function writeAllOrDrop(fd: number, data: string | Uint8Array): void {
  try {
    writeAll(fd, data);
  } catch (e) {
    if (!(e instanceof WriteError)) throw e;
  }
}

/**
 * Writes that never block the caller: what a full fd does not take is
 * kept in order and retried from a timer, backing off up to 16 ms. For a
 * non-blocking fd (a blocking one simply blocks in write(2)).
 */
export class AsyncWriter {
  private pending: Uint8Array[] = [];
  private offset = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay = 1;
  private drained: (() => void)[] = [];
  /** The fd failed (a peer gone: EPIPE, ECONNRESET): further writes are dropped. */
  private dead = false;

  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array): void {
    if (this.dead) return;
    this.pending.push(bytes);
    if (this.pending.length === 1 && this.timer === null) this.flush();
  }

  /** Resolves once everything written so far is written (or the fd failed). */
  idle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private flush(): void {
    this.timer = null;
    while (this.pending.length > 0) {
      const b = this.pending[0]!;
      try {
        this.offset += writeFd(this.fd, b, this.offset, b.length - this.offset);
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") {
          this.timer = setTimeout(() => this.flush(), this.delay);
          this.delay = Math.min(this.delay * 2, 16);
          return;
        }
        this.dead = true;
        this.pending = [];
        break;
      }
      if (this.offset === b.length) {
        this.pending.shift();
        this.offset = 0;
      }
    }
    this.delay = 1;
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /**
   * Write out everything now, waiting while the fd is full. For a process
   * about to execve or exit, where queued bytes would be lost (PID 1's last
   * replies: the host reads its channel all the time, so the wait ends).
   */
  flushSync(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.pending.length > 0 && !this.dead) {
      this.flush();
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  }
}

/** Is `fd` a terminal? Only a character device other than /dev/null can be. */
export function isTerminal(fd: number): boolean {
  const dev = charDeviceOf(fd);
  if (dev === null || (dev.major === 1 && dev.minor === 3)) return false;
  return isatty(fd);
}

/** The first line on `fd` (an init stage's spec from the host, runtime/init.ts); exit with `eofStatus` if it ends first. */
export function readFirstLine(fd: number, eofStatus: number): string {
  const buf = Buffer.alloc(65536);
  let text = "";
  while (!text.includes("\n")) {
    const n = read(fd, buf);
    if (n <= 0) process.exit(eofStatus);
    text += buf.toString("utf8", 0, n);
  }
  return text.slice(0, text.indexOf("\n"));
}
