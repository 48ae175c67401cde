// The control channel between the ctr process and its init stages.
//
// One AF_UNIX stream socketpair, created by the host with SOCK_CLOEXEC. The host
// keeps one end; the other becomes fd 3 of stage 1, which uses it for the
// handshake (plan in, "unshared" out, "go" in) and then hands the same fd 3 to
// stage 2 and closes its own copy. Stage 2 keeps it as its agent channel:
// operations arrive one at a time and each gets one reply. Because the fd is
// close-on-exec, a successful execve of the container's command closes it and the
// host reads EOF; a failed execve leaves it open so stage 2 can still report.
//
// Messages are JSON objects, one per line. Why a socket and not argv or the
// environment: the plan can be large, must not show in `ps`, and the REPL needs
// a conversation, not a one-shot message (the walkthrough of writing a Docker
// in Go, chapter 3, passes its command through a pipe for the same reason).
//
// Flow control. A socket holds a few hundred KiB; both ends write into it and
// both must read from it, or two writers wait on each other forever (the host
// writing a long batch while PID 1 waits to write its replies). So:
//   - an AsyncChannel reads all the time, into a queue, whether or not anyone
//     is waiting for a message (up to a bound, past which the peer waits);
//   - its writes never wait: what the socket does not take now is queued and
//     written from a timer, so the event loop (and with it signal handling)
//     stays free;
//   - the host keeps a bounded number of a batch's operations in flight
//     (Container.applyBatch), so neither queue grows with the script.
// The SyncChannel of stage 1 blocks on both, which is safe because the host
// always reads and stage 1 exchanges only a few small messages.
//
// Trust. Each line is bounded (MAX_MESSAGE) and each message's shape is
// checked (runtime/wire.ts) before use. A line too long, not JSON or of the
// wrong shape breaks the channel: the reader then reports "PID 1's channel was
// closed or corrupted" instead of using any of it.

import { writeSync } from "node:fs";
import { AsyncWriter } from "./fdio.ts";
import { SysError } from "../native/error.ts";
import type { Op, RunResult } from "./ops.ts";
import type { NsName } from "../lang/spec.ts";
import type { TraceEvent } from "../native/sys.ts";
import { isStageMessage } from "./wire.ts";

export type { TraceEvent };

/** The longest message either side accepts, in bytes (a plan of a long script fits easily). */
export const MAX_MESSAGE = 16 << 20;

/** An error crossing the channel: the fields of SysError, without the class. */
export interface WireError {
  errno: number;
  code: string;
  syscall: string;
  args: unknown[];
  message: string;
  hint?: string;
  /** Exit status the host should use (125 setup, 126 not executable, 127 not found). */
  status?: number;
}

export type HostMessage =
  /**
   * The namespaces to create. `wait`: wait for "go" after unsharing, because the
   * host has work to do first (id maps); without it stage 1 goes straight on.
   * `interactive`: a REPL on a terminal; PID 1 must survive the terminal's
   * SIGINT and SIGQUIT, which reach every process of the foreground group.
   * `cgroups`: the container's cgroup directories, which stage 1 removes if
   * ctr dies first (runtime/cgroup/leave.ts). `join`: cgroups stage 1 moves
   * itself into before it unshares (runtime/cgroup/track.ts).
   */
  | { t: "plan"; namespaces: NsName[]; trace: boolean; wait: boolean; interactive?: boolean; cgroups?: string[]; join?: string[] }
  /** Go on; in a new user namespace, first become these ids (inside ids, mapped by then). */
  | { t: "go"; uid?: number; gid?: number }
  /**
   * One operation. Ops of one `batch` are sent without waiting for each
   * reply; after one of them fails, PID 1 skips the rest of its batch.
   */
  | { t: "op"; id: number; op: Op; batch?: number }
  /** Signal the processes of the `run` in progress (not PID 1). */
  | { t: "interrupt"; signal: NodeJS.Signals }
  | { t: "exit" };

export type StageMessage =
  | { t: "unshared"; pid: number }
  | { t: "spawned"; pid: number }
  | { t: "ready" }
  | { t: "done"; id: number; result?: RunResult | ShowResult }
  | { t: "error"; id?: number; error: WireError }
  | { t: "trace"; event: TraceEvent; stage: 1 | 2 };

export type ShowResult =
  | { what: "ns"; container: Record<string, string>; }
  | { what: "mounts"; lines: string[] }
  | { what: "procs"; procs: { pid: number; ppid: number; state: string; cmd: string }[] };

/** A message as one line of bytes. */
function encode(msg: HostMessage | StageMessage): Uint8Array {
  return Buffer.from(JSON.stringify(msg) + "\n");
}

/** The error a reader reports once its channel is broken. */
export function brokenChannel(reason: string): SysError {
  return new SysError({ message: `PID 1's channel was closed or corrupted: ${reason}`, status: 125 });
}

/**
 * Splits a byte stream into checked messages. Works on bytes, so that the
 * bound is on bytes and a character split between two reads needs no care.
 */
class LineSplitter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly valid: (v: unknown) => boolean) {}

  /** The messages completed by `chunk`, each with its size; throws (a reason) when the stream is corrupt. */
  push(chunk: Uint8Array): { msg: unknown; bytes: number }[] {
    const out: { msg: unknown; bytes: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.pendingBytes + end - start > MAX_MESSAGE) throw new Error(`a message longer than ${MAX_MESSAGE >> 20} MiB`);
      if (nl < 0) {
        if (end > start) {
          this.pending.push(chunk.slice(start));
          this.pendingBytes += end - start;
        }
        return out;
      }
      this.pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.pending).toString("utf8");
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      if (line.trim() === "") continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        throw new Error(`a message that is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
      }
      if (!this.valid(msg)) throw new Error(`a message of an unexpected shape: ${JSON.stringify(line.slice(0, 60))}`);
      out.push({ msg, bytes: line.length });
    }
  }

  /** Bytes of a message begun but not ended. */
  get partial(): number {
    return this.pendingBytes;
  }
}

/** Stop reading ahead past this many unread messages or bytes: the peer then waits. */
const QUEUE_MESSAGES = 4096;
const QUEUE_BYTES = 32 << 20;

/** Asynchronous channel used by the host and by stage 2 (event loop stays free). */
export class AsyncChannel<In> {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private queue: { msg: In; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private splitter: LineSplitter;
  private writer: AsyncWriter;
  private eof = false;
  private broken: SysError | null = null;
  private reading = false;
  private wake: (() => void) | null = null;

  /** `valid` checks each message's shape; the default is the host's check of what the stages send. */
  constructor(readonly fd: number, valid: (v: unknown) => boolean = isStageMessage) {
    this.reader = Bun.file(fd).stream().getReader();
    this.splitter = new LineSplitter(valid);
    this.writer = new AsyncWriter(fd);
    void this.readAhead();
  }

  /** Read into the queue until it is full, the stream ends or breaks. */
  private async readAhead(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.eof && !this.broken && this.queue.length - this.head < QUEUE_MESSAGES && this.queuedBytes < QUEUE_BYTES) {
        let chunk: Awaited<ReturnType<typeof this.reader.read>>;
        try {
          chunk = await this.reader.read();
        } catch {
          this.eof = true;
          break;
        }
        if (chunk.done) {
          this.eof = true;
          break;
        }
        try {
          for (const { msg, bytes } of this.splitter.push(chunk.value)) {
            this.queue.push({ msg: msg as In, bytes });
            this.queuedBytes += bytes;
          }
        } catch (e) {
          this.broken = brokenChannel((e as Error).message);
          this.reader.cancel().catch(() => {});
        }
        this.notify();
      }
      if (this.eof && !this.broken && this.splitter.partial > 0) this.broken = brokenChannel(`it ended inside a message (${this.splitter.partial} bytes)`);
    } finally {
      this.reading = false;
      this.notify();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next message, or null at end of stream; throws once the channel is broken. */
  async next(): Promise<In | null> {
    for (;;) {
      if (this.head < this.queue.length) {
        const { msg, bytes } = this.queue[this.head]!;
        this.head++;
        this.queuedBytes -= bytes;
        if (this.head === this.queue.length || this.head > 1024) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        if (!this.reading) void this.readAhead();
        return msg;
      }
      if (this.broken) throw this.broken;
      if (this.eof) return null;
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      if (!this.reading) void this.readAhead();
      await woken;
    }
  }

  /** Queue a message; it is written as soon as the socket takes it. Refuses one the peer would refuse. */
  send(msg: HostMessage | StageMessage): void {
    const bytes = encode(msg);
    if (bytes.length > MAX_MESSAGE) {
      throw new SysError({
        message: `too large for PID 1's channel: ${(bytes.length / (1 << 20)).toFixed(1)} MiB, at most ${MAX_MESSAGE >> 20} MiB`,
        hint: "pass a value this long in a file",
        status: 125,
      });
    }
    this.writer.write(bytes);
  }

  /** Write out every queued message now, blocking (see AsyncWriter.flushSync). */
  flushSync(): void {
    this.writer.flushSync();
  }

  /** Stop reading; the fd itself is closed by its owner. */
  cancel(): void {
    this.reader.cancel().catch(() => {});
  }
}

/** Blocking reader for stage 1, which has no event loop work of its own. */
export class SyncChannel<In> {
  private queue: In[] = [];
  private splitter: LineSplitter;
  private buf = Buffer.alloc(65536);

  constructor(
    readonly fd: number,
    private readonly read: (fd: number, buf: Buffer) => number,
    valid: (v: unknown) => boolean,
  ) {
    this.splitter = new LineSplitter(valid);
  }

  /** The next message, or null at end of stream or when the stream is corrupt. */
  next(): In | null {
    while (this.queue.length === 0) {
      const n = this.read(this.fd, this.buf);
      if (n <= 0) return null;
      try {
        this.queue.push(...this.splitter.push(this.buf.subarray(0, n)).map((m) => m.msg as In));
      } catch {
        return null;
      }
    }
    return this.queue.shift()!;
  }

  /** Blocking write: the host reads all the time, so this ends. */
  send(msg: HostMessage | StageMessage): void {
    const bytes = encode(msg);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  }
}
