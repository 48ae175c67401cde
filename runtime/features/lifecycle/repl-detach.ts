// The REPL's `:detach` (issue 15, item 4), on the container's side: stage 1
// becomes the supervisor of the container it made, and PID 1 goes on without
// a host. The REPL's side (the record, the order of the steps) is
// runtime/repl-detach-host.ts.
//
// Stage 1 is PID 1's parent: only it can reap PID 1 and read its status, so it
// is the one that stays, instead of a new supervisor process. A REPL's stage 1
// (the plan says `detachable`) is prepared for it before it unshares:
//   - fd 4 is the REPL's socket for `:detach` (its other end is the REPL's);
//   - PID 1 gets a socket from stage 1, through which it is given the log.
// While the REPL lives, stage 1 polls PID 1's pidfd, the REPL's pidfd and the
// socket (no threads after unshare(CLONE_NEWPID), no event loop: poll and
// blocking reads only). `:detach` is three steps, each answered on the socket:
//   prepare  the REPL sends the record's name and what the container holds on
//            the host, as descriptors it opened there: the log, /dev/null,
//            the record's directory, the state root (checked by statedir.ts)
//            and each cgroup's parent. Stage 1 shares PID 1's mount namespace,
//            which may have left the host's tree (pivot_root) and, in a user
//            namespace, could not enter the host's again: descriptors reach the
//            host's files from anywhere (the *at() calls), as the cgroups that
//            stage 1 removes if ctr dies are reached (features/cgroup/leave.ts).
//            Stage 1 checks the record and passes the log and /dev/null on to
//            PID 1. Nothing else changes: a REPL that stops here still ends the
//            container when it ends.
//   (the REPL tells PID 1 to detach, on the control channel: detachPid1 below)
//   commit   stage 1 leaves the terminal's session, takes the log as its stdio
//            and from then on waits for PID 1 alone (its pidfd polled, the
//            record looked at every second: supervise below).
// When PID 1 ends (`ctr stop`: SIGTERM, which PID 1 handles, so it is delivered
// even to a PID namespace's init), stage 1 removes what the container held (its
// cgroups, the per-container directory) synchronously, records "stopped" with
// the exit status, and exits. A SIGKILLed stage 1 takes PID 1 with it
// (PR_SET_PDEATHSIG); the next ctr's sweep marks the record stopped.
// The container's id (its directory's and cgroups' name) ends in the REPL's
// PID, which has ended: the directory names stage 1 in its owner file (OWNER,
// runtime/statedir.ts), and the sweeps leave both alone while stage 1 runs.

import { close, closeFd, dup2, fstat, kill, MSG_NOSIGNAL, pidfdOpen, pollReadable, recvFds, sendFds, setCloexec, setsid, SIGKILL, socketpair, SysError, waitpid } from "../../../native/index.ts";
import { errorToWire } from "../../channel/codec.ts";
import { writeAll } from "../../fdio.ts";
import type { WireError } from "../../channel/messages.ts";
import { removeStateDirAt } from "../../statedir.ts";
import { signalStatus } from "../../status.ts";
import { readRecordAt, removeCgroupsAt, writeRecordAt } from "./repl-detach-end.ts";

/** Stage 1's end of the REPL's `:detach` socket. */
export const DETACH_FD = 4;

/** What the REPL sends on the socket (one JSON line each). */
export type DetachRequest =
  /** With the fds [log, /dev/null, record directory, state root, the parent of each of `cgroups`]. */
  | { t: "prepare"; name: string; id: string; stateDir: string; cgroups: string[] }
  | { t: "commit" };
/** Stage 1's answer to each. */
export type DetachReply = { ok: true } | { error: WireError };

/** A REPL's stage 1, prepared before it unshares (see the header). */
export interface Detachable {
  /** The REPL's socket (DETACH_FD). */
  sock: number;
  /** Stage 1's end of PID 1's socket, and PID 1's end (closed here once PID 1 has it). */
  toPid1: number;
  pid1End: number;
}

/** The container handed over: what stage 1 removes and records when PID 1 ends. */
export interface Handover {
  name: string;
  id: string;
  /** The record's directory, the state root and the per-container directory's name in it. */
  record: number;
  stateRoot: number;
  stateDir: string;
  /** Each cgroup of the container, by its parent (in creation order). */
  cgroups: { parent: number; name: string }[];
}

/** Before PID 1 is spawned: PID 1's socket (passed to it as `detach-fd=N`). */
export function prepareDetachable(): Detachable {
  // Close-on-exec, all of them: PID 1 inherits only its own end, made inheritable just for its spawn.
  setCloexec(DETACH_FD, true);
  const [toPid1, pid1End] = socketpair();
  return { sock: DETACH_FD, toPid1, pid1End };
}

/** The `detach-fd=N` flag of PID 1's argv, its end made inheritable for the spawn. */
export function pid1Flag(d: Detachable): string {
  setCloexec(d.pid1End, false);
  return `detach-fd=${d.pid1End}`;
}

/** After PID 1 is spawned: its end is its own. */
export function spawned(d: Detachable): void {
  closeFd(d.pid1End);
}

/**
 * Stage 1's wait, for a detachable container: as waitChildOrHost
 * (runtime/features/process/wait.ts), and serving the socket meanwhile. Returns
 * PID 1's status, whether the REPL went first, and the handover once committed.
 */
export function waitOrDetach(d: Detachable, child: number, host: number): { status: number; hostGone: boolean; handover: Handover | null } {
  const childFd = pidfdOpen(child);
  let hostFd = -1;
  try {
    hostFd = pidfdOpen(host);
  } catch {
    // the REPL is already gone
  }
  let sock = d.sock;
  let pending = "";
  let prepared: Handover | null = null;
  let stdio: number[] = [];
  const reply = (r: DetachReply) => {
    try {
      const data = Buffer.from(JSON.stringify(r) + "\n");
      for (let at = 0; at < data.length; ) at += sendFds(sock, data.subarray(at), [], MSG_NOSIGNAL);
    } catch {
      // the REPL is gone: its pidfd says so next (after a commit it had written the record already)
    }
  };
  while (hostFd >= 0) {
    const ready = pollReadable(sock >= 0 ? [childFd, hostFd, sock] : [childFd, hostFd]);
    if (ready.includes(childFd)) return { ...reap(child), hostGone: false, handover: null };
    if (ready.includes(hostFd)) break;
    const buf = new Uint8Array(65536);
    const got = recvFds(sock, buf, MAX_FDS);
    if (got.bytes === 0) {
      // The REPL's end closed: it is ending, its pidfd says so next.
      for (const fd of got.fds) close(fd);
      closeFd(sock);
      sock = -1;
      continue;
    }
    if (got.fds.length > 0) {
      for (const fd of stdio) close(fd);
      if (prepared) for (const fd of handoverFds(prepared)) close(fd);
      prepared = null;
      stdio = got.fds;
    }
    pending += Buffer.from(buf.subarray(0, got.bytes)).toString("utf8");
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        const req = JSON.parse(line) as DetachRequest;
        if (req.t === "prepare") {
          prepared = prepare(d, req, stdio);
          stdio = stdio.slice(0, 2);
          reply({ ok: true });
        } else if (req.t === "commit" && prepared) {
          commit(stdio);
          reply({ ok: true });
          closeFd(sock);
          closeFd(hostFd);
          supervise(child, childFd, prepared);
          closeFd(childFd);
          return { ...reap(child), hostGone: false, handover: prepared };
        } else throw new SysError({ message: "`:detach`: commit before prepare", status: 125 });
      } catch (e) {
        reply({ error: errorToWire(e) });
      }
    }
  }
  // The REPL is gone (even SIGKILLed): nothing of the container may stay.
  kill(child, SIGKILL);
  return { ...reap(child), hostGone: true, handover: null };
}

/** How often the supervisor looks whether its record is still there (as Supervision.started does). */
const WATCH_MS = 1000;

/**
 * Wait for PID 1 to end. Meanwhile the record is looked at every second: a
 * record that is gone (`/run` lost, as after a reboot, while the processes live)
 * leaves a container nobody can find, stop or remove, so PID 1 is killed and the
 * container ends and is torn down as any other (its directory is looked at by
 * its descriptor: a removed directory has no links).
 */
function supervise(child: number, childFd: number, h: Handover): void {
  while (pollReadable([childFd], WATCH_MS).length === 0) {
    let gone = false;
    try {
      gone = fstat(h.record).nlink === 0;
    } catch {
      gone = true;
    }
    if (!gone) continue;
    kill(child, SIGKILL); // our child, not reaped yet: still that process
    return;
  }
}

function reap(child: number): { status: number } {
  const w = waitpid(child, 0);
  return { status: w.signaled ? signalStatus(w.signal ?? 0) : (w.exitCode ?? 0) };
}

/** At most this many fds in one `prepare` (the log, /dev/null, the record, the state root, cgroup parents). */
const MAX_FDS = 64;

const handoverFds = (h: Handover): number[] => [h.record, h.stateRoot, ...h.cgroups.map((c) => c.parent)];

/** `prepare`: the descriptors taken, the record checked, the log and /dev/null on to PID 1. */
function prepare(d: Detachable, req: Extract<DetachRequest, { t: "prepare" }>, fds: readonly number[]): Handover {
  if (fds.length !== 4 + req.cgroups.length) throw new SysError({ message: `\`:detach\`: the REPL sent ${fds.length} descriptors, not ${4 + req.cgroups.length}`, status: 125 });
  const [log, nul, record, stateRoot, ...parents] = fds as [number, number, number, number, ...number[]];
  const h: Handover = { name: req.name, id: req.id, record, stateRoot, stateDir: req.stateDir, cgroups: req.cgroups.map((name, i) => ({ parent: parents[i]!, name })) };
  const s = readRecordAt(h.record);
  if (!s || s.name !== req.name || s.id !== req.id) throw new SysError({ message: `\`:detach\`: stage 1 finds no record of ${JSON.stringify(req.name)} for this container`, status: 125 });
  sendFds(d.toPid1, new Uint8Array([1]), [log, nul]);
  return h;
}

/** `commit`: out of the terminal's session, the log as stdio. */
function commit(stdio: number[]): void {
  try {
    setsid(); // the terminal's hangup is not for the container
  } catch {
    // a group leader already: not stage 1
  }
  const [log, nul] = stdio as [number, number];
  dup2(nul, 0);
  dup2(log, 1);
  dup2(log, 2);
  close(log);
  close(nul);
  stdio.length = 0;
}

/**
 * PID 1's side of the channel's `detach`: the log and /dev/null stage 1 passed
 * on (the last pair, should an earlier `:detach` have stopped after its
 * prepare) become its stdio, and it leaves the terminal's session.
 */
export function detachPid1(sock: number): void {
  if (pollReadable([sock], 2000).length === 0) throw new SysError({ message: "`:detach`: stage 1 passed PID 1 no log", status: 125 });
  let fds: number[] = [];
  while (pollReadable([sock], 0).length > 0) {
    const got = recvFds(sock, new Uint8Array(16), 2);
    if (got.bytes === 0) break;
    if (got.fds.length === 2) {
      for (const fd of fds) close(fd);
      fds = got.fds;
    } else for (const fd of got.fds) close(fd);
  }
  if (fds.length !== 2) throw new SysError({ message: "`:detach`: stage 1 passed PID 1 no log", status: 125 });
  const [log, nul] = fds as [number, number];
  dup2(nul, 0);
  dup2(log, 1);
  dup2(log, 2);
  close(log);
  close(nul);
  closeFd(sock);
  try {
    setsid();
  } catch {
    // already a session leader
  }
}

/** PID 1 ended: remove what the container held, then record its status ("stopped", as Supervision.finished). */
export function finishDetached(h: Handover, status: number): void {
  for (const problem of removeCgroupsAt(h.cgroups)) writeAll(2, `ctr: ${problem}\n`); // the log, since the commit
  try {
    removeStateDirAt(h.stateRoot, h.stateDir);
  } catch (e) {
    writeAll(2, `ctr: cannot remove the container's directory ${h.stateDir}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  const s = readRecordAt(h.record);
  if (s && s.status !== "stopped") writeRecordAt(h.record, { ...s, status: "stopped", finished: new Date().toISOString(), exitStatus: status, supervisor: null });
}
