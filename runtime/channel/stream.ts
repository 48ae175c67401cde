// The control channel's two ends: AsyncChannel (the host and stage 2) and
// SyncChannel (stage 1). The messages and who sends them: messages.ts.
//
// One AF_UNIX stream socketpair, created by the host with SOCK_CLOEXEC. The host
// keeps one end; the other becomes fd 3 of stage 1, which uses it for the
// handshake (plan in, "unshared" out, "go" in) and then hands the same fd 3 to
// stage 2 and closes its own copy. Stage 2 keeps it as its agent channel:
// operations arrive one at a time and each gets one reply. Because the fd is
// close-on-exec, a successful execve of the container's command closes it and the
// host reads EOF; a failed execve leaves it open so stage 2 can still report.
//
// Why a socket and not argv or the environment: the plan can be large, must
// not show in `ps`, and the REPL needs a conversation, not a one-shot message
// (the walkthrough of writing a Docker in Go, chapter 3, passes its command
// through a pipe for the same reason).
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

import { AsyncWriter, writeAll } from "../fdio.ts";
import type { SysError } from "../../native/error.ts";
import { brokenChannel, Decoder, encode } from "./codec.ts";
import { isStageMessage, type HostMessage, type StageMessage } from "./messages.ts";

/** Stop reading ahead past this many unread messages or bytes: the peer then waits. */
const QUEUE_MESSAGES = 4096;
const QUEUE_BYTES = 32 << 20;

/** Asynchronous channel used by the host and by stage 2 (event loop stays free). */
export class AsyncChannel<In> {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private queue: { msg: In; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private decoder: Decoder;
  private writer: AsyncWriter;
  private eof = false;
  private broken: SysError | null = null;
  private reading = false;
  private wake: (() => void) | null = null;

  /** `valid` checks each message's shape; the default is the host's check of what the stages send. */
  constructor(readonly fd: number, valid: (v: unknown) => boolean = isStageMessage) {
    this.reader = Bun.file(fd).stream().getReader();
    this.decoder = new Decoder(valid);
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
          for (const { msg, bytes } of this.decoder.push(chunk.value)) {
            this.queue.push({ msg: msg as In, bytes });
            this.queuedBytes += bytes;
          }
        } catch (e) {
          this.broken = brokenChannel((e as Error).message);
          this.reader.cancel().catch(() => {});
        }
        this.notify();
      }
      if (this.eof && !this.broken && this.decoder.partial > 0) this.broken = brokenChannel(`it ended inside a message (${this.decoder.partial} bytes)`);
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
    this.writer.write(encode(msg));
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
  private decoder: Decoder;
  private buf = Buffer.alloc(65536);

  constructor(
    readonly fd: number,
    private readonly read: (fd: number, buf: Buffer) => number,
    valid: (v: unknown) => boolean,
  ) {
    this.decoder = new Decoder(valid);
  }

  /** The next message, or null at end of stream or when the stream is corrupt. */
  next(): In | null {
    while (this.queue.length === 0) {
      const n = this.read(this.fd, this.buf);
      if (n <= 0) return null;
      try {
        this.queue.push(...this.decoder.push(this.buf.subarray(0, n)).map((m) => m.msg as In));
      } catch {
        return null;
      }
    }
    return this.queue.shift()!;
  }

  /** Blocking write: the host reads all the time, so this ends. */
  send(msg: HostMessage | StageMessage): void {
    writeAll(this.fd, encode(msg));
  }
}
