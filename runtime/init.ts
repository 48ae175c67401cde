// The init stages: the fresh processes that become the container.
//
// JavaScript cannot run in a forked child (Bun's heaps are MADV_DONTFORK), so
// the container side is a fresh Bun process started from a pre-bundled copy of
// this file (docs/ARCHITECTURE.md, "Why the stages"):
//
//   stage 1 ("creator")  reads the plan on fd 3, checks it is single-threaded,
//                        unshare()s, tells the host, waits for "go" when the
//                        host has work to do first (id maps), then spawns
//                        stage 2 and relays its exit status.
//   stage 2 ("pid1")     is born inside the new namespaces (PID 1 when `ns pid`),
//                        and serves operations from the host one at a time on
//                        fd 3 until it is told to exit or it execve()s the
//                        command, which then is PID 1.
//
// Stage 1 must stay single-threaded until it has unshared: it imports koffi
// through its CommonJS entry (the ESM entry starts a thread in Bun) and is run
// with the JSC/mimalloc settings of runtime/bundle.ts.

import {
  AT_FDCWD,
  blockSignals,
  closeFd,
  kill,
  peerHungUp,
  PR_SET_PDEATHSIG,
  prctl,
  read,
  setChildSubreaper,
  setCloexec,
  setControllingTerminal,
  setName,
  setDumpable,
  setTrace,
  SIGHUP,
  SIGINT,
  SIGKILL,
  SIGQUIT,
  SIGTERM,
  spawnProcess,
  statx,
  SysError,
  O_RDONLY,
  waitpid,
} from "../native/index.ts";
import { realFiles } from "../native/files.ts";
import { realSys } from "../native/seam.ts";
import { AsyncChannel, SyncChannel } from "./channel/stream.ts";
import { errorToWire } from "./channel/codec.ts";
import { isHostMessage, PROTOCOL, protocolMismatch, type HostMessage, type StageMessage } from "./channel/messages.ts";
import { joinByPath, joinCgroups, takeMappedIds, unshareMountAsPid1, unshareNamespaces } from "./features/ns/unshare.ts";
import { execute, newAgentState } from "./agent.ts";
import { makeRootPrivate } from "./features/mount/mount.ts";
import { dieWithParentAtExec, reapOrphans, signalRunning } from "./features/process/process.ts";
import { readFirstLine, writeAll } from "./fdio.ts";
import { stage2Environment } from "./bundle.ts";
import { applyAndExec, type ProcessSpec } from "./features/process/spec.ts";
import { enterStageRoot } from "./features/process/stage.ts";
import { leave, prepareLeave } from "./features/cgroup/leave.ts";
import { openStartOomScore } from "./features/cgroup/oomscore.ts";
import { signalStatus } from "./status.ts";
import { enterStage } from "./features/lifecycle/enter.ts";
import { enterJoinedMount, joinRunning, killMembers, openMembers, type MntHandOver } from "./features/ns/joined.ts";
import { waitChildOrHost } from "./features/process/wait.ts";
import { detachPid1, finishDetached, pid1Flag, prepareDetachable, spawned, waitOrDetach, type Detachable, type Handover } from "./features/lifecycle/repl-detach.ts";

const CONTROL_FD = 3;
/** An OCI console socket (runtime/features/process/console.ts), when the plan says `console`. */
const CONSOLE_FD = 4;

function traceTo(send: (m: StageMessage) => void, stage: 1 | 2): void {
  setTrace((event) => send({ t: "trace", event, stage }));
}

/**
 * The descriptor of the mount namespace at `path`, for PID 1 to join: refused when it is
 * this process's own or the host init's (the container's root would be mounted and
 * pivoted into on the host; the translation says so first, this holds it at the open).
 */
function openMountByPath(path: string): number {
  const fd = realFiles.open(path, O_RDONLY);
  const ns = statx(AT_FDCWD, path);
  for (const own of ["/proc/self/ns/mnt", "/proc/1/ns/mnt"]) {
    let o;
    try {
      o = statx(AT_FDCWD, own);
    } catch {
      continue; // the host init's may be out of reach (EACCES): ours is checked still
    }
    if (o.ino === ns.ino && o.dev === ns.dev) {
      closeFd(fd);
      throw new SysError({ errno: 22, code: "EINVAL", syscall: "setns", args: [path, "CLONE_NEWNS"], message: `the mount namespace at "${path}" is ctr's own: the container's root would be prepared in it, on the host`, status: 125 });
    }
  }
  setCloexec(fd, false);
  return fd;
}

/** PID 1's entry: init.mjs next to this bundle when it is there (runtime/bundle.ts; `running` below says why), else this file. */
function stage2Entry(): string {
  const self = process.argv[1]!;
  const entry = self.replace(/\.js$/, ".mjs");
  return entry !== self && realFiles.exists(entry) ? entry : self;
}

function stage1(): void {
  setName("ctr-stage1");
  const ch = new SyncChannel<HostMessage>(CONTROL_FD, read, isHostMessage);
  const plan = ch.next();
  if (!plan || plan.t !== "plan") process.exit(125);
  // First, before anything is done with the plan: is it in our protocol (runtime/channel/messages.ts)?
  if ((plan.v ?? 0) !== PROTOCOL) {
    ch.send({ t: "error", error: errorToWire(protocolMismatch(plan.v ?? 0, process.argv[1] ?? "")) });
    process.exit(125);
  }
  // The host, watched below: if it dies, stage 1 takes the container down.
  const host = process.ppid;
  // Without a PID namespace, stage 1 adopts the container's orphans (below) and
  // must find them at the end through /proc. Its /proc is gone by then when the
  // container pivots (stage 1 shares PID 1's mount namespace, so it is moved
  // too): open the list now, on the host's /proc. libuv opens it close-on-exec,
  // so PID 1 never holds it.
  const subreaper = !plan.namespaces.includes("pid");
  let childrenFd = -1;
  try {
    if (subreaper) childrenFd = realFiles.open(`/proc/self/task/${process.pid}/children`, O_RDONLY);
  } catch (e) {
    ch.send({ t: "error", error: errorToWire(new SysError({ code: (e as NodeJS.ErrnoException).code ?? "", syscall: "open", message: `cannot open "/proc/self/task/${process.pid}/children": ${(e as Error).message}`, hint: "ctr needs the host's /proc to track the container's processes", status: 125 })) });
    process.exit(125);
  }
  // Into the container's cgroups first (runtime/features/cgroup/track.ts): every
  // process of the container is created in them from here on.
  try {
    joinCgroups(realSys, plan.join ?? [], process.pid);
  } catch (e) {
    ch.send({ t: "error", error: errorToWire(e) });
    process.exit(125);
  }
  // If ctr dies, stage 1 removes the container's cgroups: opened now, while the host's tree is in view.
  const leaving = prepareLeave(plan.cgroups ?? []);
  // A REPL's container, which `:detach` may hand to this stage: PID 1's socket for it made now (runtime/features/lifecycle/repl-detach.ts).
  let detachable: Detachable | null = null;
  try {
    if (plan.detachable) detachable = prepareDetachable();
  } catch (e) {
    ch.send({ t: "error", error: errorToWire(e) });
    process.exit(125);
  }
  // A joined PID namespace: our orphans are that namespace's init's, found by the cgroups if ctr dies (runtime/features/ns/joined.ts).
  const members = plan.enter?.namespaces.includes("pid") ? openMembers(plan.cgroups ?? []) : [];
  // `join`: the running container's namespaces first, user first (runtime/features/ns/join.ts);
  // a joined mount namespace is stage 2's to enter (the host's Bun is out of its reach).
  let mntHandOver: MntHandOver | null = null;
  try {
    if (plan.enter) {
      if (plan.trace) traceTo((m) => ch.send(m), 1);
      mntHandOver = joinRunning(realSys, plan.enter);
      setTrace(null);
    }
    // Namespaces given by a path (an OCI config's) are joined, not made: before
    // the unshare of the others, as runc orders them (a new user namespace last
    // would own none of them; a user one is joined first; a mnt path is refused by the translation).
    // A PID namespace joined so holds PID 1, born after this (CLONE_NEWPID moves later children).
    const byPath = new Set((plan.paths ?? []).map((p) => p.ns));
    if (plan.trace) traceTo((m) => ch.send(m), 1);
    joinByPath(realSys, plan.paths ?? []);
    // A mount namespace by path is PID 1's to join: its descriptor, inherited (joinByPath leaves it).
    const mntPath = plan.paths?.find((p) => p.ns === "mnt");
    if (mntPath) mntHandOver = { mnt: openMountByPath(mntPath.path), root: -1 };
    setTrace(null);
    // Trace what the script asked for, not the stage's own bookkeeping.
    unshareNamespaces(realSys, plan.namespaces.filter((n) => !byPath.has(n)), () => {
      if (plan.trace) traceTo((m) => ch.send(m), 1);
    });
    setTrace(null);
  } catch (e) {
    ch.send({ t: "error", error: errorToWire(e) });
    process.exit(125);
  }
  ch.send({ t: "unshared", pid: process.pid });
  const go: HostMessage | null = plan.wait ? ch.next() : { t: "go" };
  if (!go || go.t !== "go") process.exit(125);
  if (go.uid !== undefined && go.gid !== undefined) {
    try {
      takeMappedIds(realSys, go.uid, go.gid); // runtime/features/ns/unshare.ts
    } catch (e) {
      ch.send({ t: "error", error: errorToWire(e) });
      process.exit(125);
    }
  }

  // Stage 1 is inside the container's namespaces too (and visible to its
  // processes without `ns pid`): non-dumpable from here on, as stage 2 below.
  // Not earlier: while non-dumpable its /proc files belong to root, and a
  // rootless host could not write its uid_map and gid_map.
  setDumpable(false);
  // After unshare(CLONE_NEWPID) this process may not create threads, so Bun's own
  // spawn and event loop are off limits: posix_spawn and a blocking waitpid only.
  // The terminal's signals are blocked here (PID 1 gets them itself, and the host
  // forwards the rest); the child starts with defaults and an empty mask.
  blockSignals([SIGINT, SIGTERM, SIGHUP, SIGQUIT]);
  // Without a PID namespace nothing kills the container's background processes
  // when its command ends: orphans are re-parented to stage 1 instead of the
  // host's init, and stage 1 kills them before it exits.
  if (subreaper) setChildSubreaper(true);
  if (plan.trace) traceTo((m) => ch.send(m), 1);
  // The console socket is for PID 1: inherited through posix_spawn whatever Bun made of it at start-up.
  if (plan.console) setCloexec(CONSOLE_FD, false);
  let pid: number;
  try {
    const flags = [
      ...(plan.trace ? ["trace"] : []),
      ...(plan.interactive ? ["interactive"] : []),
      ...(plan.release ? ["release"] : []),
      ...(plan.adopted ? ["adopted"] : []),
      ...(plan.console ? ["console"] : []),
      ...(plan.namespaces.length === 0 && !plan.enter ? ["caller-env"] : []),
      ...(mntHandOver ? [`join-mnt=${mntHandOver.mnt},${mntHandOver.root}`] : []),
      ...(detachable ? [pid1Flag(detachable)] : []),
    ];
    pid = spawnProcess(process.execPath, [process.execPath, stage2Entry(), "stage2", ...flags], stage2Env(plan.namespaces.length === 0));
  } catch (e) {
    ch.send({ t: "error", error: errorToWire(e) });
    process.exit(125);
  }
  setTrace(null);
  if (detachable) spawned(detachable);
  if (mntHandOver) {
    closeFd(mntHandOver.mnt);
    if (mntHandOver.root >= 0) closeFd(mntHandOver.root);
  }
  ch.send({ t: "spawned", pid });
  // Stage 2 holds the channel now; the host must see EOF once PID 1 is gone or execs.
  closeFd(CONTROL_FD);
  if (plan.console) closeFd(CONSOLE_FD); // PID 1's now (runtime/features/process/console.ts)
  // Wait for PID 1 or for the host, whichever ends first. If the host is gone
  // (even SIGKILLed, with no chance to clean up), nothing of the container may
  // stay: kill PID 1 (its PID namespace dies with it) and, without one, the
  // orphans stage 1 adopted. A pidfd of each, polled: no threads, no handlers.
  let status = 125;
  let hostGone = false;
  let handover: Handover | null = null;
  try {
    // `:detach` makes this stage the container's supervisor: it then waits for PID 1 alone.
    ({ status, hostGone, handover } = detachable ? waitOrDetach(detachable, pid, host) : { ...waitChildOrHost(pid, host), handover: null });
  } finally {
    if (subreaper && !killOrphans(childrenFd)) {
      // Never silent: the host reports a status it did not expect, and this says why.
      writeAll(2, "ctr: stage 1 could not list the container's remaining processes; some may still run\n");
      status = 125;
    }
  }
  // A live ctr removes the cgroups itself, after stage 1 has gone.
  if (hostGone) killMembers(members);
  if (hostGone) leave(leaving);
  if (handover) finishDetached(handover, status);
  process.exit(status);
}

/** The PIDs in /proc/self/task/PID/children, read through `fd` from the start (pread). */
function readChildren(fd: number): number[] {
  const buf = Buffer.alloc(4096);
  let text = "";
  for (let pos = 0; ; ) {
    const n = realFiles.pread(fd, buf, pos);
    if (n <= 0) break;
    text += buf.toString("latin1", 0, n);
    pos += n;
  }
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/**
 * Kill and reap every child left to stage 1 (orphans it adopted as subreaper),
 * round after round: killing one that was itself a subreaper hands its own
 * orphans to stage 1. False if the list could not be read, or did not empty.
 * (Orphans are handed to a thread of the subreaper; stage 1 has one, the init
 * environment of runtime/bundle.ts sees to that.)
 */
function killOrphans(fd: number): boolean {
  for (let round = 0; round < 1000; round++) {
    let children: number[];
    try {
      children = readChildren(fd);
    } catch {
      return false;
    }
    if (children.length === 0) return true;
    for (const child of children) {
      try {
        kill(child, SIGKILL);
        waitpid(child, 0);
      } catch {
        // already reaped
      }
    }
  }
  return false;
}

function stage2Env(callerEnv: boolean): string[] {
  return stage2Environment(process.env, callerEnv).map(([k, v]) => `${k}=${v}`);
}

async function stage2(trace: boolean, interactive: boolean, callerEnv: boolean, joinMnt: MntHandOver | null, release: boolean, console: boolean, adopted = false, direct = false, mnt = false, detachFd = -1): Promise<void> {
  // First: PID 1 is in the container with the container's uid, and a dumpable
  // process's /proc files (mem, map_files: the host's libraries, environ) are
  // open to any process of its uid (CVE-2019-5736 class; runc init does the same).
  // execve turns it back on for the command itself.
  setDumpable(false);
  setName("ctr-init"); // what `ps` shows for PID 1 until `exec`
  setCloexec(CONTROL_FD, true);
  if (console) setCloexec(CONSOLE_FD, true); // for `exec` alone: no `run` inherits it
  if (detachFd >= 0) setCloexec(detachFd, true); // stage 1's socket for `:detach`: no command inherits it
  // Dies with stage 1, which dies with the host (it watches it): nothing of the
  // container outlives ctr. Except `release` (an OCI container): the host kills
  // stage 1 once the container is created, and PID 1 lives on as the child of
  // the caller's subreaper (conmon, containerd's shim), which reaps it; the
  // host's end of the channel is then what ends it before `start` (EOF below).
  if (!release) prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Adopted (a detached named container): released as above, but the command dies with the supervisor that adopted it.
  else if (adopted) dieWithParentAtExec(CONTROL_FD);
  if (direct) {
    // Started by ctr's own thread, no stage 1 (runtime/features/ns/direct.ts):
    // our parent is ctr. If it died before the prctl above, no signal comes:
    // its end of the channel is closed then (ctr is its only holder, and a dying
    // process closes its files before its children are told), so look. After
    // the prctl, its death kills us.
    if (peerHungUp(CONTROL_FD)) process.exit(125);
    if (mnt) {
      try {
        unshareMountAsPid1(realSys); // before anything else, so nothing of ours is in the host's mount namespace
      } catch (e) {
        new SyncChannel<HostMessage>(CONTROL_FD, read, isHostMessage).send({ t: "error", error: errorToWire(e) });
        process.exit(125);
      }
    }
  }
  const ch = new AsyncChannel<HostMessage>(CONTROL_FD, isHostMessage);
  // Sends are queued while the socket is full (runtime/channel/stream.ts). Around an
  // `exec` they must be written out before execve closes the channel, or the
  // host would miss the last replies and trace lines.
  let flushEach = false;
  const send = (m: StageMessage) => {
    ch.send(m);
    if (flushEach) ch.flushSync();
  };
  const exit = (status: number): never => {
    ch.flushSync();
    process.exit(status);
  };
  if (trace) traceTo(send, 2);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const) {
    // In an interactive session the terminal's Ctrl-C and Ctrl-\ are for the
    // `run` in progress, not for PID 1. A handler, not SIG_IGN: commands start
    // with the default action (handlers are reset by execve, ignored signals not).
    const keep = interactive && (sig === "SIGINT" || sig === "SIGQUIT");
    process.on(sig, keep ? () => {} : () => process.exit(signalStatus(sig)));
  }
  process.on("SIGCHLD", reapOrphans);
  const st = newAgentState(callerEnv);
  if (joinMnt) {
    // `join NAME mnt`: still single-threaded here, and nothing of the container's has been touched.
    // A mount namespace by path (root -1) is the container's own from here on: made private
    // before anything is mounted in it, as stage 1 makes a new one, and its root still to prepare.
    try {
      enterJoinedMount(realSys, joinMnt);
      if (joinMnt.root < 0) makeRootPrivate(realSys);
      else st.entered = true;
    } catch (e) {
      send({ t: "error", error: errorToWire(e) });
      return exit(125);
    }
  }
  send({ t: "ready" });
  // Operations run one after another, but the channel is read all the time, so
  // an "interrupt" (Ctrl-C in the REPL) reaches a `run` that is still going.
  // The host keeps only a few operations of a batch in flight, so this queue
  // stays short and PID 1 gets back to its event loop (and its signals) often.
  let queue: Promise<void> = Promise.resolve();
  const failedBatches = new Set<number>();
  let detached = false;
  for (;;) {
    // A corrupt channel (a broken host end) is the end: nothing more from it can be trusted.
    const msg = await ch.next().catch(() => (detached ? null : exit(125)));
    if (!msg && detached) {
      // `:detach`: the REPL has gone, the container stays. PID 1 waits (reaping orphans
      // on SIGCHLD) until a signal it handles ends it (`ctr stop`: SIGTERM).
      setInterval(() => {}, 1 << 30);
      return;
    }
    if (!msg || msg.t === "exit") {
      await queue;
      return exit(0);
    }
    if (msg.t === "interrupt") {
      signalRunning(msg.signal);
      continue;
    }
    if (msg.t === "detach") {
      queue = queue.then(() => {
        try {
          if (detachFd < 0) throw new SysError({ message: "`:detach`: this PID 1 was not started detachable", status: 125 });
          detachPid1(detachFd);
          detached = true;
          send({ t: "done", id: 0 });
          ch.flushSync();
          setTrace(null); // the host goes away: nothing more is sent to it
        } catch (e) {
          send({ t: "error", id: 0, error: errorToWire(e) });
        }
      });
      continue;
    }
    if (msg.t !== "op") continue;
    const { id, op, batch } = msg;
    queue = queue.then(async () => {
      if (batch !== undefined && failedBatches.has(batch)) {
        send({ t: "error", id, error: { errno: 0, code: "", syscall: "", args: [], message: "skipped: an earlier operation failed" } });
        return;
      }
      if (op.kind === "exec") {
        ch.flushSync();
        flushEach = true;
      }
      try {
        const result = await execute(st, op);
        send({ t: "done", id, result });
      } catch (e) {
        if (batch !== undefined) failedBatches.add(batch);
        send({ t: "error", id, error: errorToWire(e) });
      }
      flushEach = false;
      reapOrphans();
    });
  }
}

/**
 * The exec stage (runtime/features/process/spec.ts): started by PID 1 for a `run` whose spec
 * needs steps only the new process can take (and by `ctr exec`'s stage). It reads the spec,
 * one JSON line, on fd 3 (close-on-exec, so a successful execve closes it and PID 1 reads the
 * end), applies it and becomes the command; if that fails, the error goes back
 * on fd 3 and the status is 126 or 127, as for `exec`. With "root" it was started
 * from the host's tree and enters the container's root, its fd 4, first
 * (runtime/features/process/stage.ts).
 */
function execStage(): void {
  setDumpable(false); // as stage 2: the container's processes are already running
  setCloexec(CONTROL_FD, true);
  const line = readFirstLine(CONTROL_FD, 126);
  try {
    const spec = JSON.parse(line) as ProcessSpec;
    // "tty" (`ctr exec -t`, features/lifecycle/enter.ts): fds 0-2 are a terminal of the container's and this
    // process leads a new session (the spawn's setsid): it becomes the session's controlling terminal, which execve keeps.
    if (process.argv.includes("tty")) setControllingTerminal(0);
    // Started from the host's tree by a PID 1 inside a new root: into that root first (features/process/stage.ts).
    if (process.argv.includes("root")) enterStageRoot(realSys, spec);
    applyAndExec(spec);
  } catch (e) {
    writeAll(CONTROL_FD, JSON.stringify(errorToWire(e)) + "\n");
    process.exit(e instanceof SysError && e.status !== undefined ? e.status : 126);
  }
}

/**
 * Stage 2's run, which ends in process.exit. PID 1 is started from init.mjs
 * (runtime/bundle.ts), an ES module entry that awaits it: Bun
 * makes a full collection once its entry point has finished evaluating, which
 * a CommonJS entry does at its first await, here just after "ready", on the
 * container's critical path (3-8 ms, measured); an entry still awaiting never does.
 */
export let running: Promise<void> | undefined;

openStartOomScore(); // before any pivot_root (runtime/features/cgroup/oomscore.ts)
if (process.argv[2] === "stage1") stage1();
else if (process.argv[2] === "exec") execStage();
else if (process.argv[2] === "enter") enterStage(); // `ctr exec` (runtime/features/lifecycle/enter.ts)
else if (process.argv[2] === "stage2") {
  const mnt = process.argv.find((a) => a.startsWith("join-mnt="))?.slice("join-mnt=".length).split(",").map(Number);
  const detachFd = Number(process.argv.find((a) => a.startsWith("detach-fd="))?.slice("detach-fd=".length) ?? -1);
  running = stage2(process.argv.includes("trace"), process.argv.includes("interactive"), process.argv.includes("caller-env"), mnt ? { mnt: mnt[0]!, root: mnt[1]! } : null, process.argv.includes("release"), process.argv.includes("console"), process.argv.includes("adopted"), process.argv.includes("direct"), process.argv.includes("mnt"), detachFd);
}
