// `ctr exec` entering the container itself, without its enter stage
// (enter.ts): one Bun process fewer on the path of every exec, whose latency
// is a benchmark against runc (bench/lifecycle.ts; issue 15, acceptance).
//
// Why it can: setns(2) into a user or mount namespace needs a single-threaded
// process (docs/ARCHITECTURE.md, "Why the stages"), and bin/ctr starts `ctr
// exec` with SINGLE_THREAD_ENV (runtime/bundle.ts), runtime/main.ts loads its
// one bundle (exec-cli.js) with require(), which starts no loader thread, and
// nothing before this uses the event loop's threads. The thread count is
// checked here, not assumed: with any other thread, the enter stage does it.
// Also the stage's, always: `-t` (the terminal, tty.ts), a spec that needs the
// exec stage (`rlimit`, `no_new_privs`, `cap`, `seccomp`, `user`: the stage
// starts it from the host's root and waits for it), an OCI `exec --detach`.
//
// The steps are the enter stage's (enter.ts, its header), with the same
// checks, in this process:
//   1. a pidfd of the container's PID 1, its start time checked;
//   2. /proc/PID/ns/* opened (step 3 of the stage, first here: whether the
//      container has a PID namespace decides the rest), and with one, the
//      guard (guard.ts: a shell until it is needed) started from the host
//      before joining anything: this process is then the command's parent and
//      waiter, and the guard kills the command if it dies (its SIGKILL
//      included), as the stage did;
//   3. its cgroups joined; /proc/PID/root opened, the pidfd checked again;
//   4. the namespaces joined (user first), the root entered, PID 1's ids
//      taken in a user namespace;
//   5. the process spec applied (a working directory only, here), standard
//      input /dev/null unless -i. Without a PID namespace, this process
//      execve()s the command (as nsenter without -p does): its exit status,
//      signals and death are the command's own. With one, the command must be
//      a child (setns(CLONE_NEWPID) moves only children): spawned, its PID
//      written to the guard at once;
//   6. waiting: for the command's pidfd, and for a signalfd of the signals
//      ctr forwards (HANDLED_SIGNALS, blocked from before the spawn, which
//      unblocks them in the command), each sent on to the command.
// The exit status is the command's, 128+N when signal N killed it.

import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { blockSignals, close, dup2, kill, pidfdOpen, pollReadable, readSignal, realSys, setgroups, setresgid, setresuid, SIGKILL, signalFd, O_CLOEXEC, pipe2, spawnProcess, waitpid, write } from "../../../native/index.ts";
import { SINGLE_THREAD_ENV } from "../../bundle.ts";
import { HANDLED_SIGNALS, signalStatus } from "../../status.ts";
import { applyAndExec, applySteps, processSpec } from "../process/spec.ts";
import { checkSame, idsOf, joinCgroups, joinContainer, openNs, type EnterSpec } from "./enter.ts";
import { GUARD_FD, guardArgv } from "./guard.ts";

/** Whether `spec` is one this process can run itself (else the enter stage), before anything is done. */
export function canEnterHere(spec: EnterSpec): boolean {
  return spec.tty === undefined && !spec.detach && spec.rlimits.length === 0 && !spec.noNewPrivs && !spec.caps && !spec.seccomp && !spec.user && process.env.CTR_EXEC_STAGE !== "always";
}

const threads = (): number => readdirSync("/proc/self/task").length;

/**
 * Run `spec` from this process (see the header); `guard`: the path of the
 * bundle that starts the guard (enter-init.js). Returns the command's exit
 * status, or null, having done nothing, when this process is not
 * single-threaded (the caller starts the enter stage instead).
 */
export function enterHere(spec: EnterSpec, stdin: "inherit" | "ignore", guard: string): number | null {
  // 1. the very process recorded, held by a pidfd (koffi loaded before the thread count)
  const pidfd = pidfdOpen(spec.pid);
  let mine = -1;
  let child = 0; // spawned and not yet reaped
  try {
    if (threads() !== 1) return null;
    checkSame(spec.pid, spec.start, pidfd);
    // 2. every namespace's descriptor before joining anything; whether one is a PID namespace decides the rest
    const fds = openNs(spec.pid, spec.namespaces);
    const pidNs = fds.find((f) => f.ns === "pid");
    // with one, the guard, from the host's namespaces and cgroups
    const devNull = openSync("/dev/null", constants.O_RDWR);
    if (pidNs) {
      const [theirs, ours] = pipe2(O_CLOEXEC);
      mine = ours;
      try {
        const env = Object.entries(SINGLE_THREAD_ENV).map(([k, v]) => `${k}=${v}`);
        spawnProcess("/bin/sh", guardArgv(process.execPath, guard, process.pid), env, { dup2: [[theirs, GUARD_FD], [devNull, 0], [devNull, 1], [devNull, 2]] });
      } finally {
        close(theirs);
      }
    }
    if (stdin === "ignore") dup2(devNull, 0); // the command's stdin: not ctr's (this process reads none)
    closeSync(devNull);
    // 3. its cgroups, from the host's view
    joinCgroups(spec.cgroups);
    const rootFd = openSync(`/proc/${spec.pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY);
    checkSame(spec.pid, spec.start, pidfd);
    // 4. as enter.ts: PID 1's ids, read inside its user namespace
    let ids: { uid: number; gid: number } | null = null;
    let groups = false;
    joinContainer(realSys, fds, rootFd, () => {
      ids = idsOf(spec.pid);
      groups = readFileSync(`/proc/${spec.pid}/setgroups`, "utf8").trim() === "allow";
    });
    const pidNsInode = pidNs ? fstatSync(pidNs.fd).ino : 0;
    for (const { fd } of fds) closeSync(fd);
    closeSync(rootFd);
    const become = ids as { uid: number; gid: number } | null;
    if (become && Number.isInteger(become.uid) && Number.isInteger(become.gid)) {
      if (groups) setgroups([]);
      setresgid(become.gid, become.gid, become.gid);
      setresuid(become.uid, become.uid, become.uid);
    }
    // 5. the spec; without a PID namespace to be born into, this process becomes the command
    // (exit status, signals and death are then the command's own), as nsenter without -p does.
    const ps = processSpec({ cwd: spec.cwd, env: spec.env, rlimits: [], noNewPrivs: false }, spec.argv);
    if (!pidNs) applyAndExec(ps, { takeScore: () => {} });
    applySteps(ps);
    // The forwarded signals blocked before the spawn (none lost in between; posix_spawn unblocks them in the command).
    const sigs = HANDLED_SIGNALS.map((s) => (osConstants.signals as Record<string, number>)[s]!);
    blockSignals(sigs);
    const sigFd = signalFd(sigs);
    const envp = Object.entries(ps.env).map(([k, v]) => `${k}=${v}`);
    write(mine, `ns ${pidNsInode}\n`); // the guard's lines (guard.ts): this one before the spawn
    child = spawnProcess(ps.path, ps.argv, envp);
    write(mine, `pid ${child}\n`);
    const childFd = pidfdOpen(child);
    // 6. the command; signals to ctr go on to it (by PID: it is this process's unreaped child)
    for (;;) {
      const ready = pollReadable([childFd, sigFd]);
      if (ready.includes(sigFd)) {
        const sig = readSignal(sigFd);
        try {
          kill(child, sig);
        } catch {
          // it ended meanwhile
        }
      }
      if (ready.includes(childFd)) break;
    }
    const w = waitpid(child, 0);
    child = 0;
    return w.signaled ? signalStatus(w.signal ?? 0) : (w.exitCode ?? 0);
  } finally {
    if (child > 0) {
      // an error between the spawn and the wait: the command does not outlive it
      kill(child, SIGKILL);
      waitpid(child, 0);
    }
    // The command, if any, is reaped: the guard has nothing left to watch, and ends.
    if (mine >= 0) {
      try {
        write(mine, "done\n");
      } catch {
        // the guard is gone (EPIPE)
      }
      close(mine);
    }
    close(pidfd);
  }
}
