// The shared monitor (issue 15, item 3): one process per user (per state root,
// store.ts) that watches all of the user's detached containers, started on
// demand by `ctr -d` and gone when its last container ends (monitor-link.ts
// says how it is reached, started and stopped without races). Its memory,
// not a Bun process per container, is then what a detached container costs
// (bench/lifecycle.ts).
//
// `ctr -d` asks it to "spawn" the container's supervisor (`ctr --supervise
// NAME ...`, supervise.ts) as its child, the log as stdout and stderr. This
// process is PR_SET_CHILD_SUBREAPER: when the supervisor lets stage 1 go right
// before `exec` (adopt.ts), PID 1 is re-parented here, and its parent-death
// signal, set right before execve (features/process/process.ts), is then this
// process's: PID 1 dies with the monitor. The supervisor then hands the
// container over ("adopt": PID 1, what the let-go left on the host, the name)
// and exits; from then on this process
//   - reaps PID 1 (waitpid(pid, WNOHANG) on a timer: never waitpid(-1), Bun
//     reaps the supervisors, its own children, itself),
//   - removes what it held (oci/teardown.ts removeHeld) and writes the record
//     "stopped" with its status (128+N for a signal),
//   - kills PID 1 when its record is gone (/run lost, as after a reboot), as the
//     supervisor did (supervise.ts started()).
// It forwards no signal. The record's `supervisor` names this process, so when
// it is killed the sweep of the next ctr (commands.ts sweepRecords) marks every
// such record stopped; their cgroups and per-container directories are named
// after this process's PID (their id, cli.ts runScript), and are swept with it.
//
// A container that cannot be adopted (no `ns pid`, no `exec`, a `join`, or a host end of `net veth`/`net bridge`)
// keeps its supervisor, spawned here as well (the monitor stays while it
// runs), which watches it to the end as before.

import { closeSync, constants, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { close, flock, LOCK_EX, LOCK_NB, O_CLOEXEC, O_DIRECTORY, O_RDONLY, open, setChildSubreaper, SysError, WNOHANG, waitpid } from "../../../native/index.ts";
import type { HeldResources } from "../../session.ts";
import { removeRootIfEmpty, removeStateDir } from "../../statedir.ts";
import { machineCgroups } from "../cgroup/detect.ts";
import { removeCgroupsOf } from "../cgroup/manager.ts";
import { releaseNetOf } from "../net/host.ts";
import { removeHeld } from "../oci/teardown.ts";
import { MONITOR_LOG, socketPath, type Message } from "./monitor-link.ts";
import { nameProblem } from "./names.ts";
import { processRef, sameProcess, startTime } from "./procstat.ts";
import { exists, logPath, readState, recordsRoot, writeState, type ProcRef } from "./store.ts";

/** How often PID 1s are looked at (waitpid WNOHANG) and their records (see the header). */
const REAP_MS = 100;
const WATCH_MS = 1000;

interface Adopted {
  name: string;
  pid1: ProcRef;
  held: HeldResources | null;
}

type Client = import("bun").Socket<{ buf: string; supervisor: number }>;

const supervisors = new Map<number, { name: string; client: Client | null; handedOver: boolean }>();
const adopted = new Map<number, Adopted>();
const clients = new Set<Client>();
let finishing = 0;
/** Looks left for children that are neither (reapStrays), after a supervisor ended. */
let strayLooks = 0;

const busy = (): boolean => supervisors.size + adopted.size + clients.size + finishing > 0;

function reply(s: Client | null, msg: Message): void {
  try {
    s?.write(JSON.stringify(msg) + "\n");
  } catch {
    // the client went
  }
}

/** A line for the container's log (its supervisor's stderr until then). */
function notice(name: string, text: string): void {
  try {
    const fd = openSync(logPath(name), constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    try {
      writeSync(fd, `ctr: ${text}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the record is gone
  }
}

function spawnSupervisor(s: Client, m: Message): void {
  const name = String(m.name);
  const cmd = m.cmd as string[];
  if (nameProblem(name) || !Array.isArray(cmd) || cmd.length === 0) return reply(s, { t: "error", message: "a bad spawn request" });
  const log = openSync(logPath(name), constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
  let sup: ReturnType<typeof Bun.spawn>;
  // The client's umask, as if it had started the supervisor itself (the files it makes: bundles, per-container files).
  const umask = process.umask(typeof m.umask === "number" ? m.umask & 0o777 : 0o022);
  try {
    sup = Bun.spawn({
      cmd,
      stdio: ["ignore", log, log],
      env: { ...(m.env as Record<string, string>), CTR_MONITOR: String(process.pid) },
      cwd: String(m.cwd ?? "/"),
      detached: true,
      onExit: (_p, code, signal) => guarded("a supervisor's end", () => supervisorEnded(sup.pid, signal ? 128 + (typeof signal === "number" ? signal : (osConstants.signals[signal as keyof typeof osConstants.signals] ?? 0)) : (code ?? 125))),
    });
  } catch (e) {
    return reply(s, { t: "error", message: e instanceof Error ? e.message : String(e) });
  } finally {
    process.umask(umask);
    closeSync(log);
  }
  supervisors.set(sup.pid, { name, client: s, handedOver: false });
  s.data.supervisor = sup.pid;
  reply(s, { t: "spawned", pid: sup.pid });
}

/**
 * A supervisor ended. Without a handover, what its container left is named
 * after this process (see the header): no sweep removes it while the monitor
 * lives, so it is removed here, before `ctr -d` (the client) hears of the end.
 */
async function supervisorEnded(pid: number, status: number): Promise<void> {
  const sup = supervisors.get(pid);
  if (!sup) return;
  finishing++;
  try {
    supervisors.delete(pid);
    const rec = sup.handedOver ? null : readState(sup.name);
    if (rec && rec.id.endsWith(`-${process.pid}`) && rec.supervisor?.pid === pid) {
      if (rec.status !== "stopped") {
        if (rec.pid1 && sameProcess(rec.pid1)) {
          try {
            process.kill(rec.pid1.pid, "SIGKILL"); // checked just above; if it is this process's child it is reaped below
          } catch {
            // gone
          }
        }
        Object.assign(rec, { status: "stopped", exitStatus: null, finished: new Date().toISOString(), note: "its supervisor was killed", supervisor: null });
        writeState(rec);
      }
      await removeLeft(rec.id);
    }
    strayLooks = 50; // PID 1, if it was let go, may take a moment to die: the reaping timer looks for it
    if (sup.client) reply(sup.client, { t: "exited", code: status });
  } finally {
    finishing--;
    idleSoon();
  }
}

/** The per-container directory and cgroups of container `id`, retried while its killed processes drain. */
async function removeLeft(id: string): Promise<void> {
  try {
    releaseNetOf(id); // its links first: the directory's `net` file is their only record (features/net/host.ts)
    removeStateDir(`${recordsRoot()}/${id}`);
  } catch {
    // not there, or not removable
  }
  let sys: ReturnType<typeof machineCgroups>;
  try {
    sys = machineCgroups();
  } catch {
    return;
  }
  if (sys.mode === "none") return;
  for (let i = 0; i < 100 && removeCgroupsOf(sys, id).length > 0; i++) await Bun.sleep(20);
}

/**
 * Children that are neither a supervisor nor an adopted PID 1: a PID 1 whose
 * supervisor died between the let-go and the handover. Reaped once they ended
 * (their cgroup was killed above), each by its PID.
 */
function reapStrays(): void {
  let text = "";
  try {
    text = readFileSync(`/proc/self/task/${process.pid}/children`, "utf8");
  } catch {
    return;
  }
  const pids = text.trim().split(/\s+/).filter(Boolean).map(Number).filter((pid) => !supervisors.has(pid) && !adopted.has(pid));
  if (pids.length === 0) return;
  // A live supervisor's PID 1, let go and about to be handed over, is not a stray: its status is the container's.
  const pending = new Set([...supervisors.values()].map((sup) => readState(sup.name)?.pid1?.pid));
  for (const pid of pids) {
    if (pending.has(pid)) continue;
    try {
      waitpid(pid, WNOHANG);
    } catch {
      // not ours any more
    }
  }
}

function adopt(s: Client, m: Message): void {
  const name = String(m.name);
  const pid1 = m.pid1 as ProcRef;
  const supervisor = Number(m.supervisor);
  const sup = supervisors.get(supervisor);
  if (nameProblem(name) || !pid1 || !sup || sup.name !== name) return reply(s, { t: "refused", message: "not a supervisor of this monitor" });
  let w: ReturnType<typeof waitpid>;
  try {
    w = waitpid(pid1.pid, WNOHANG);
  } catch (e) {
    return reply(s, { t: "refused", message: `PID 1 (pid ${pid1.pid}) is not this monitor's child: ${e instanceof SysError ? e.code : String(e)}` });
  }
  if (w.pid !== pid1.pid && startTime(pid1.pid) !== pid1.start) return reply(s, { t: "refused", message: `pid ${pid1.pid} is not that PID 1` });
  const entry: Adopted = { name, pid1, held: (m.held as HeldResources | null) ?? null };
  adopted.set(pid1.pid, entry);
  sup.handedOver = true;
  const rec = readState(name);
  if (rec && rec.status !== "stopped") {
    rec.supervisor = processRef(process.pid);
    writeState(rec);
  }
  reply(s, { t: "adopted" });
  if (w.pid === pid1.pid) guarded("a container's end", () => finish(entry, w.signaled ? 128 + (w.signal ?? 0) : (w.exitCode ?? 0)));
}

/** PID 1 ended: what it held goes, then the record says so. */
async function finish(a: Adopted, status: number): Promise<void> {
  adopted.delete(a.pid1.pid);
  finishing++;
  try {
    if (a.held) for (const problem of await removeHeld(a.held)) notice(a.name, problem);
    const rec = readState(a.name);
    if (rec && rec.status !== "stopped") {
      Object.assign(rec, { status: "stopped", finished: new Date().toISOString(), exitStatus: status, supervisor: null });
      writeState(rec);
    }
  } finally {
    finishing--;
    idleSoon();
  }
}

function reap(): void {
  if (strayLooks > 0) {
    strayLooks--;
    reapStrays();
  }
  for (const a of [...adopted.values()]) {
    let w: ReturnType<typeof waitpid>;
    try {
      w = waitpid(a.pid1.pid, WNOHANG);
    } catch {
      guarded("a container's end", () => finish(a, 125)); // not this process's child: cannot happen once adopted
      continue;
    }
    if (w.pid === a.pid1.pid && w.exited) guarded("a container's end", () => finish(a, w.exitCode ?? 0));
    else if (w.pid === a.pid1.pid && w.signaled) guarded("a container's end", () => finish(a, 128 + (w.signal ?? 0)));
  }
}

function watch(): void {
  for (const a of adopted.values()) {
    if (exists(a.name)) continue;
    try {
      process.kill(a.pid1.pid, "SIGKILL"); // this process's unreaped child: still that PID
    } catch {
      // ended meanwhile
    }
  }
}

let socketIno = 0;
let exitTimer: ReturnType<typeof setTimeout> | null = null;

function idleSoon(ms = 50): void {
  if (exitTimer) clearTimeout(exitTimer);
  exitTimer = setTimeout(() => guarded("exiting", tryExit), ms);
}

/** Idle: under the root's lock (monitor-link.ts), remove this monitor's socket and exit; a client that reached it meanwhile asks again. */
function tryExit(): void {
  exitTimer = null;
  if (busy()) return;
  let fd: number;
  try {
    fd = open(recordsRoot(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } catch {
    process.exit(0); // the state root is gone (/run lost): nothing of this monitor's is left there
  }
  try {
    flock(fd, LOCK_EX | LOCK_NB);
  } catch {
    close(fd);
    return idleSoon(20); // a client is starting a monitor or sweeping: look again
  }
  if (busy()) {
    close(fd);
    return;
  }
  // Only this monitor's own socket: after a loss of /run another may listen at that path.
  if (lstatSync(socketPath(), { throwIfNoEntry: false })?.ino === socketIno) {
    for (const name of [socketPath(), `${recordsRoot()}/${MONITOR_LOG}`]) {
      try {
        unlinkSync(name);
      } catch {
        // not there
      }
    }
  }
  removeRootIfEmpty(recordsRoot());
  process.exit(0); // the lock goes with this process
}

function onData(s: Client, chunk: Buffer): void {
  s.data.buf += chunk.toString();
  let nl: number;
  while ((nl = s.data.buf.indexOf("\n")) >= 0) {
    const line = s.data.buf.slice(0, nl);
    s.data.buf = s.data.buf.slice(nl + 1);
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      reply(s, { t: "error", message: "not a JSON line" });
      continue;
    }
    try {
      if (m.t === "spawn") spawnSupervisor(s, m);
      else if (m.t === "adopt") adopt(s, m);
      else reply(s, { t: "error", message: `unknown request ${JSON.stringify(m.t)}` });
    } catch (e) {
      // e.g. the record removed meanwhile: that request fails, the monitor and its containers go on
      reply(s, { t: m.t === "adopt" ? "refused" : "error", message: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** Run `f` from a timer or a callback: a failure is said in the monitor's log, never the end of the monitor (and of its containers). */
function guarded(what: string, f: () => unknown): void {
  try {
    const r = f();
    if (r instanceof Promise) r.catch((e) => said(what, e));
  } catch (e) {
    said(what, e);
  }
}

function said(what: string, e: unknown): void {
  process.stderr.write(`ctr monitor: ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
}

export function runMonitor(): void {
  // Before any supervisor exists: the PID 1s they let go are re-parented here.
  setChildSubreaper(true);
  const umask = process.umask(0o077); // the socket: only the user's (0700)
  Bun.listen<{ buf: string; supervisor: number }>({
    unix: socketPath(),
    socket: {
      open: (s) => {
        s.data = { buf: "", supervisor: 0 };
        clients.add(s);
      },
      data: onData,
      close: (s) => {
        clients.delete(s);
        const sup = supervisors.get(s.data.supervisor);
        if (sup?.client === s) sup.client = null;
        idleSoon();
      },
      error: () => {},
    },
  });
  process.umask(umask);
  socketIno = lstatSync(socketPath()).ino;
  // fd 3: the starter's lock on the state root (monitor-link.ts), held until this listens.
  try {
    close(3);
  } catch {
    // started by hand
  }
  setInterval(() => guarded("reaping", reap), REAP_MS);
  setInterval(() => guarded("watching the records", watch), WATCH_MS);
  idleSoon(2000); // the client that started it connects at once; if it died, this ends
}
