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
// a conversation, not a one-shot message (seed 001 makes the same argument for
// a pipe).

import { writeAll } from "./fdio.ts";
import type { Op, RunResult } from "./ops.ts";
import type { NsName } from "../lang/spec.ts";
import type { TraceEvent } from "../native/sys.ts";

export type { TraceEvent };

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
   * ctr dies first (runtime/cgroup/leave.ts).
   */
  | { t: "plan"; namespaces: NsName[]; trace: boolean; wait: boolean; interactive?: boolean; cgroups?: string[] }
  /** Go on; in a new user namespace, first become these ids (inside ids, mapped by then). */
  | { t: "go"; uid?: number; gid?: number }
  /**
   * One operation. Ops of one `batch` are sent together without waiting for
   * replies; after one of them fails, PID 1 skips the rest of its batch.
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

export function sendMessage(fd: number, msg: HostMessage | StageMessage): void {
  // The host's end (Bun's socketpair) is non-blocking: a large message (a long
  // argv) fills the socket buffer until the stage reads; writeAll waits.
  writeAll(fd, JSON.stringify(msg) + "\n");
}

/** Splits a byte stream into JSON messages. */
class LineSplitter<T> {
  private buf = "";
  push(chunk: string): T[] {
    this.buf += chunk;
    const out: T[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim() !== "") out.push(JSON.parse(line) as T);
    }
    return out;
  }
}

/** Asynchronous reader used by the host and by stage 2 (event loop stays free). */
export class AsyncChannel<In> {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private queue: In[] = [];
  private splitter = new LineSplitter<In>();
  private decoder = new TextDecoder();
  private eof = false;

  constructor(readonly fd: number) {
    this.reader = Bun.file(fd).stream().getReader();
  }

  /** The next message, or null at end of stream. */
  async next(): Promise<In | null> {
    while (this.queue.length === 0) {
      if (this.eof) return null;
      let chunk: Awaited<ReturnType<typeof this.reader.read>>;
      try {
        chunk = await this.reader.read();
      } catch {
        this.eof = true;
        continue;
      }
      if (chunk.done) {
        this.eof = true;
        continue;
      }
      this.queue.push(...this.splitter.push(this.decoder.decode(chunk.value, { stream: true })));
    }
    return this.queue.shift()!;
  }

  send(msg: HostMessage | StageMessage): void {
    sendMessage(this.fd, msg);
  }

  /** Stop reading; the fd itself is closed by its owner. */
  cancel(): void {
    this.reader.cancel().catch(() => {});
  }
}

/** Blocking reader for stage 1, which has no event loop work of its own. */
export class SyncChannel<In> {
  private queue: In[] = [];
  private splitter = new LineSplitter<In>();
  private buf = Buffer.alloc(65536);
  private decoder = new TextDecoder(); // streaming: a character may straddle two reads

  constructor(
    readonly fd: number,
    private readonly read: (fd: number, buf: Buffer) => number,
  ) {}

  next(): In | null {
    while (this.queue.length === 0) {
      const n = this.read(this.fd, this.buf);
      if (n <= 0) return null;
      this.queue.push(...this.splitter.push(this.decoder.decode(this.buf.subarray(0, n), { stream: true })));
    }
    return this.queue.shift()!;
  }

  send(msg: HostMessage | StageMessage): void {
    sendMessage(this.fd, msg);
  }
}
