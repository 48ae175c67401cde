// The way to the shared monitor (monitor.ts): a unix socket, monitor.sock in
// the state root (store.ts; the root is the user's, and the socket is made
// 0600, so only the user reaches it), JSON lines each way. Used by `ctr -d`
// (commands.ts detach: "spawn" a supervisor) and by a supervisor handing its
// container over ("adopt", adopt.ts). Blocking calls on a plain socket: both
// callers wait for the answer and do nothing else meanwhile.
//
// Start-up is race-free through flock(2) on the state root directory itself:
// a client that finds no monitor takes the lock, looks again, and only then
// removes a stale socket (a killed monitor's) and starts one, which inherits
// the locked file as its fd 3 and closes it once it listens; so two `ctr -d` at
// once end with one monitor, even if the one that started it dies meanwhile.
// The monitor takes the same lock before it removes its socket and exits when
// idle, and a client whose connection is closed before its request was
// answered (it reached a monitor on its way out) simply asks again.

import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { AF_UNIX, close, connect, flock, LOCK_EX, O_CLOEXEC, O_DIRECTORY, O_RDONLY, open, pollReadable, recv, send, SOCK_CLOEXEC, SOCK_STREAM, socket, SysError, unixAddress } from "../../../native/index.ts";
import { recordsRoot } from "./store.ts";

export const SOCKET_NAME = "monitor.sock";
/** The monitor's stdout and stderr (its own errors), removed when it exits cleanly. */
export const MONITOR_LOG = "monitor.log";
export const socketPath = (): string => `${recordsRoot()}/${SOCKET_NAME}`;

const MSG_NOSIGNAL = 0x4000;

export type Message = { t: string; [key: string]: unknown };

/** One connection to the monitor. */
export class MonitorLink {
  private buf = "";
  private closed = false;
  constructor(private readonly fd: number) {}

  send(msg: Message): void {
    let data = new TextEncoder().encode(JSON.stringify(msg) + "\n");
    while (data.length > 0) data = data.subarray(send(this.fd, data, MSG_NOSIGNAL));
  }

  /** The next message within `ms` (null: none yet), or "closed" once the monitor closed its end. */
  next(ms: number): Message | null | "closed" {
    for (;;) {
      const nl = this.buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return JSON.parse(line) as Message;
      }
      if (this.closed) return "closed";
      if (pollReadable([this.fd], ms).length === 0) return null;
      const chunk = new Uint8Array(65536);
      let n = 0;
      try {
        n = recv(this.fd, chunk);
      } catch {
        n = 0; // ECONNRESET: closed as well
      }
      if (n === 0) this.closed = true;
      else this.buf += new TextDecoder().decode(chunk.subarray(0, n));
    }
  }

  /** The reply to a request: waits up to `ms`; "closed" when the connection ended first. */
  reply(ms: number): Message | "closed" {
    const until = Date.now() + ms;
    for (;;) {
      const m = this.next(Math.max(0, until - Date.now()));
      if (m !== null) return m;
      if (Date.now() >= until) throw new SysError({ message: "the container monitor did not answer", status: 125 });
    }
  }

  close(): void {
    close(this.fd);
  }
}

const code = (e: unknown): string => (e instanceof SysError ? e.code : "");

/** A connection to a listening monitor, or the error: ENOENT, ECONNREFUSED (none listens), EAGAIN (its backlog is full). */
export function tryConnect(): MonitorLink {
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC);
  try {
    connect(fd, unixAddress(socketPath()));
  } catch (e) {
    close(fd);
    throw e;
  }
  return new MonitorLink(fd);
}

/** Run `body` holding the lock of the state root (see the header); the fd it gets is the locked one. */
export function withRootLock<T>(body: (lockFd: number) => T): T {
  for (;;) {
    const root = recordsRoot();
    const fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    try {
      flock(fd, LOCK_EX);
      // The root may have been removed (empty) and made again while this waited: lock the one that is there.
      const st = statSync(root, { throwIfNoEntry: false });
      const mine = fstatSync(fd);
      if (!st || st.ino !== mine.ino || st.dev !== mine.dev) continue;
      return body(fd);
    } finally {
      close(fd);
    }
  }
}

/** Whether `pid` runs (not a zombie): the event loop, which would tell a child's exit, does not run while this waits. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

const noMonitor = (e: unknown): boolean => code(e) === "ENOENT" || code(e) === "ECONNREFUSED";

/** Remove the socket and log a killed monitor left (under the lock, once nothing answers there). */
function removeStale(): void {
  for (const name of [SOCKET_NAME, MONITOR_LOG]) {
    try {
      unlinkSync(`${recordsRoot()}/${name}`);
    } catch {
      // not there
    }
  }
}

/** `ctr ps` and the others sweep what a killed monitor left (commands.ts sweepRecords). */
export function sweepStaleMonitor(): void {
  if (!lstatSync(socketPath(), { throwIfNoEntry: false })) return;
  try {
    withRootLock(() => {
      try {
        tryConnect().close();
      } catch (e) {
        if (noMonitor(e)) removeStale();
      }
    });
  } catch {
    // the root went meanwhile
  }
}

/**
 * A connection to the user's monitor, started here if none answers (see the
 * header). `start`: its command line and environment.
 */
export async function connectMonitor(start: { cmd: string[]; env: Record<string, string | undefined> }): Promise<MonitorLink> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return tryConnect();
    } catch (e) {
      if (!noMonitor(e)) {
        await Bun.sleep(10); // EAGAIN: a busy monitor's backlog
        continue;
      }
    }
    const started = withRootLock((lockFd): MonitorLink | null => {
      try {
        return tryConnect(); // another client started one meanwhile
      } catch (e) {
        if (!noMonitor(e)) return null;
      }
      removeStale();
      const log = openSync(`${recordsRoot()}/${MONITOR_LOG}`, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
      let monitor: ReturnType<typeof Bun.spawn>;
      try {
        // Its own session, its cwd "/" (it holds no directory of the caller's); fd 3: this lock, until it listens.
        monitor = Bun.spawn({ cmd: start.cmd, stdio: ["ignore", log, log, lockFd], env: start.env, cwd: "/", detached: true });
      } finally {
        closeSync(log);
      }
      monitor.unref();
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          return tryConnect();
        } catch (e) {
          if (!noMonitor(e) && code(e) !== "EAGAIN") throw e;
        }
        if (!alive(monitor.pid) || Date.now() > until)
          throw new SysError({ message: `the container monitor did not start (see ${recordsRoot()}/${MONITOR_LOG})`, status: 125 });
        Bun.sleepSync(5);
      }
    });
    if (started) return started;
  }
  throw new SysError({ message: "could not reach the container monitor", status: 125 });
}
