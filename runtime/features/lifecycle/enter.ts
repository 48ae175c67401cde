// `ctr exec`'s stage: a fresh, single-threaded init process that enters a
// running container and starts a command there (issue 15, item 4; chapter 13,
// `docker exec`, setns(2) through /proc/PID/ns/*).
//
// Why a stage of its own: JavaScript cannot run after fork, and setns(2) into
// a user or mount namespace fails with EINVAL in a multi-threaded process
// (docs/ARCHITECTURE.md, "Why the stages"): ctr's CLI has threads, a fresh
// init process started as stage 1 is (runtime/bundle.ts) has one. A plain
// `ctr exec` is kept single-threaded and takes these steps itself
// (enter-here.ts: one Bun start fewer); this stage is for the rest: `-t`, a
// spec with steps for the exec stage (6), an OCI `exec` (features/oci/exec.ts),
// a `ctr exec` that has threads after all. The
// host sends the EnterSpec, one JSON line, on fd 3; the stage
//   1. opens a pidfd of the container's PID 1, then checks that the PID is
//      still the recorded process (its start time, procstat.ts); the pidfd
//      then stays unreadable for as long as that process lives;
//   2. joins the container's cgroups (writing its PID to cgroup.procs) while
//      the host's cgroup tree is in view;
//   3. opens /proc/PID/ns/* of each of the container's namespaces and
//      /proc/PID/root, all before joining any, and checks the pidfd again;
//   4. joins them through the seam: the user namespace first (it owns the
//      others, and gives the capabilities the rest need), then mnt, then the
//      others; then the container's root, fchdir to the descriptor taken in
//      step 3 and chroot(".") (a root entered with chroot, not pivot_root,
//      is not the mount namespace's root);
//   5. with a user namespace, takes PID 1's ids inside it (read from
//      /proc/PID/status after joining it, so they are the inner ones);
//   6. applies the container's process spec (features/process/spec.ts) as
//      `run` does, the record's (store.ts, ExecDefaults) as runc exec applies
//      the container's process config: setns(CLONE_NEWPID) moves only
//      children, so the command is its child, born in the container's PID
//      namespace. A spec with only a working directory is applied to this
//      stage (applySteps), which the command inherits through posix_spawn
//      (default signals). A spec with rlimits, no_new_privs, cap, seccomp or
//      user goes to the exec stage, as a `run` inside a root does
//      (features/process/stage.ts): started from the host's root, which this
//      stage opened before joining, with the container's root as its fd 4; it
//      applies the steps and becomes the command, so that the filter, the ids
//      and the dropped capabilities are the command's alone, not those of
//      this stage, which goes on waiting and could not work under them;
//      with a `user` in the spec, step 5 takes uid and gid 0 instead of PID
//      1's, which may be that user's already;
//   7. reports the command's host PID, then waits for it or for the host:
//      if `ctr exec` dies (even by SIGKILL), the command is killed.
// Its exit status is the command's, 128+N when a signal killed it, or
// 125/126/127 as for `exec` when it could not start.

import { closeSync, constants, openSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { NsName } from "../../../lang/spec.ts";
import {
  blockSignals, close, O_CLOEXEC, O_NOCTTY, O_RDWR, open, pidfdOpen, pollReadable, read, realSys, sendFds, setCloexec, setgroups, setresgid, setresuid, SIGHUP, SIGINT, SIGQUIT, SIGTERM, socketpair, spawnProcess, SysError, waitpid,
  type Sys,
} from "../../../native/index.ts";
import { errorToWire, wireToError } from "../../channel/codec.ts";
import type { WireError } from "../../channel/messages.ts";
import { readFirstLine, writeAll } from "../../fdio.ts";
import type { RlimitSetting } from "../../ops.ts";
import { SINGLE_THREAD_ENV } from "../../bundle.ts";
import { NS_FLAG, NS_PROC_NAME, orderNamespaces } from "../ns/ns.ts";
import { applySteps, needsExecStage, processSpec, type ProcessSpec } from "../process/spec.ts";
import { fromHostRoot, STAGE_ROOT_FD } from "../process/stage.ts";
import type { CapSetting } from "../security/caps.ts";
import type { Profile } from "../security/profile.ts";
import type { UserSetting } from "../security/user.ts";
import { startTime } from "./procstat.ts";
import { waitChildOrHost } from "../process/wait.ts";
import { openPty, PTY_FD, type WinSize } from "./tty.ts";

const CONTROL_FD = 3;

export interface EnterSpec {
  pid: number;
  start: number;
  namespaces: NsName[];
  cgroups: string[];
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  rlimits: RlimitSetting[];
  noNewPrivs: boolean;
  /** The container's `cap`, `seccomp`, `user` (the record's ExecDefaults, store.ts). */
  caps?: CapSetting;
  seccomp?: Profile | null;
  user?: UserSetting;
  /** `ctr exec -t`: a new terminal in the container's devpts for the command, with this window size (tty.ts). */
  tty?: WinSize | null;
  /**
   * An OCI `exec --detach` (runtime/features/oci/exec.ts): the stage exits once
   * the pid is reported, without waiting for the command (nor reaping it, were it
   * quick), which the caller's subreaper adopts and reaps with its status.
   */
  detach?: boolean;
}

/** What the stage says on fd 3, one JSON line each. */
export type EnterReply = { pid: number } | { error: ReturnType<typeof errorToWire> };

/** An open namespace of the container, to join. */
export interface NsFd {
  ns: NsName;
  fd: number;
}

/**
 * Step 4: join each namespace, in the order given (user first), then the
 * container's root by its descriptor. `afterUser` runs right after the user
 * namespace is joined (step 5 reads the inner ids there).
 */
export function joinContainer(sys: Sys, fds: readonly NsFd[], rootFd: number, afterUser?: () => void): void {
  for (const { ns, fd } of fds) {
    sys.setns(fd, NS_FLAG[ns]);
    if (ns === "user") afterUser?.();
  }
  sys.fchdir(rootFd);
  sys.chroot(".");
  sys.chdir("/");
}

function stageError(message: string, status = 125, hint?: string): SysError {
  return new SysError({ message, status, hint });
}

function readSpec(): EnterSpec {
  return JSON.parse(readFirstLine(CONTROL_FD, 125)) as EnterSpec;
}

const reply = (r: EnterReply) => writeSync(CONTROL_FD, JSON.stringify(r) + "\n");

/** The ids of `pid` (real ones, field 1 of Uid: and Gid:) as this process's user namespace sees them. */
export function idsOf(pid: number): { uid: number; gid: number } {
  return idsIn(readFileSync(`/proc/${pid}/status`, "utf8"));
}

/** The uid and gid of a /proc/PID/status text. */
export function idsIn(status: string): { uid: number; gid: number } {
  const field = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return { uid: field("Uid"), gid: field("Gid") };
}

export function openNs(pid: number, namespaces: readonly NsName[]): NsFd[] {
  const out: NsFd[] = [];
  for (const ns of orderNamespaces(namespaces)) {
    const path = `/proc/${pid}/ns/${NS_PROC_NAME[ns]}`;
    // A namespace the container shares with us (joined, or not made) is not joined: setns to one's own user namespace is EINVAL.
    if (statSync(path).ino === statSync(`/proc/self/ns/${NS_PROC_NAME[ns]}`).ino) continue;
    out.push({ ns, fd: openSync(path, constants.O_RDONLY) });
  }
  return out;
}

/** Move this process into each of the container's cgroup directories (host paths, read while the host's tree is in view). */
export function joinCgroups(dirs: readonly string[]): void {
  for (const dir of dirs) {
    const fd = openSync(`${dir}/cgroup.procs`, constants.O_WRONLY);
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
  }
}

export function checkSame(pid: number, start: number, pidfd: number): void {
  if (startTime(pid) !== start || pollReadable([pidfd], 0).length > 0) throw stageError(`the container's PID 1 (host pid ${pid}) is gone`);
}

/**
 * Step 6 through the exec stage (runtime/init.ts "exec root"): its spec on a
 * socket as its fd 3, the container's root as its fd 4. Returns its pid once it
 * is the command (the socket closed by its execve), or throws the error that
 * kept the command from starting.
 */
function startExecStage(ps: ProcessSpec, hostRoot: number, slave?: string): number {
  const [mine, theirs] = socketpair();
  // -t: the slave opened here, in the container's root (a path opened by the spawn would be the host's), as the stage's 0, 1, 2 (tty.ts).
  const term = slave === undefined ? -1 : open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
  let pid: number;
  try {
    const env = Object.entries(SINGLE_THREAD_ENV).map(([k, v]) => `${k}=${v}`);
    // This stage runs from enter-init.js (runtime/enter-init.ts); the exec stage is the init bundle's, beside it.
    const init = join(dirname(process.argv[1]!), "init.js");
    const tty: [number, number][] = term < 0 ? [] : [[term, 0], [term, 1], [term, 2]];
    pid = fromHostRoot(realSys, hostRoot, (root) => spawnProcess(process.execPath, [process.execPath, init, "exec", "root", ...(term < 0 ? [] : ["tty"])], env, { dup2: [...tty, [theirs, 3], [root, STAGE_ROOT_FD]] }));
  } finally {
    close(theirs);
    if (term >= 0) close(term);
  }
  let text = "";
  try {
    writeAll(mine, JSON.stringify(ps) + "\n");
    const buf = Buffer.alloc(65536);
    for (let n: number; (n = read(mine, buf)) > 0; ) text += buf.toString("utf8", 0, n);
  } finally {
    close(mine);
  }
  if (text.trim() === "") return pid;
  waitpid(pid, 0);
  let w: WireError;
  try {
    w = JSON.parse(text) as WireError;
  } catch {
    w = { errno: 0, code: "", syscall: "execve", args: [ps.path], message: `the exec stage of "${ps.argv[0]}" failed: ${text.trim().slice(0, 200)}`, status: 126 };
  }
  throw wireToError(w);
}

export function enterStage(): void {
  let spec: EnterSpec;
  try {
    spec = readSpec();
  } catch {
    process.exit(125);
  }
  const host = process.ppid;
  let child = 0;
  let hostRoot = -1;
  setCloexec(CONTROL_FD, true); // ctr exec's socket is not the command's
  try {
    const threads = readdirSync("/proc/self/task").length;
    if (threads !== 1) throw stageError(`setns(2) into a user or mount namespace needs a single-threaded process, but the exec stage has ${threads} threads`, 125, "the Bun runtime started helper threads; check the pinned bun version and the init environment");
    // 1. the very process recorded, held by a pidfd
    const pidfd = pidfdOpen(spec.pid);
    checkSame(spec.pid, spec.start, pidfd);
    // 2. its cgroups, from the host's view
    joinCgroups(spec.cgroups);
    // 3. every descriptor before joining anything; the host's root too (the exec stage starts from it, step 6)
    hostRoot = openSync("/", constants.O_RDONLY | constants.O_DIRECTORY);
    const fds = openNs(spec.pid, spec.namespaces);
    const rootFd = openSync(`/proc/${spec.pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY);
    checkSame(spec.pid, spec.start, pidfd);
    // 4, 5
    let ids: { uid: number; gid: number } | null = null;
    const setgroupsAllowed = () => readFileSync(`/proc/${spec.pid}/setgroups`, "utf8").trim() === "allow";
    let groups = false;
    joinContainer(realSys, fds, rootFd, () => {
      ids = idsOf(spec.pid);
      groups = setgroupsAllowed();
    });
    for (const { fd } of fds) closeSync(fd);
    closeSync(rootFd);
    // With a `user` in the spec the exec stage switches ids itself, and must start as the
    // namespace's root: execve keeps capabilities in a user namespace only for its uid 0.
    const pid1Ids = ids as { uid: number; gid: number } | null;
    const become = pid1Ids && spec.user !== undefined ? { uid: 0, gid: 0 } : pid1Ids;
    if (become && Number.isInteger(become.uid) && Number.isInteger(become.gid)) {
      if (groups) setgroups([]);
      setresgid(become.gid, become.gid, become.gid);
      setresuid(become.uid, become.uid, become.uid);
    }
    // 6. the process spec, then the command as a child in the container's PID namespace
    const ps = processSpec({ cwd: spec.cwd, env: spec.env, rlimits: spec.rlimits, noNewPrivs: spec.noNewPrivs, caps: spec.caps, seccomp: spec.seccomp ?? undefined, user: spec.user }, spec.argv);
    blockSignals([SIGINT, SIGTERM, SIGHUP, SIGQUIT]); // the command gets them (posix_spawn resets them); this stage waits
    // -t: the terminal is made by the ids and in the root the command has (tty.ts); its master goes to `ctr exec`
    // (or an OCI exec's console socket) on fd 4, which the command must not inherit.
    if (spec.tty !== undefined) setCloexec(PTY_FD, true);
    const pty = spec.tty !== undefined ? openPty(spec.tty) : null;
    if (needsExecStage(ps)) {
      // The exec stage gets the slave as its 0, 1, 2 and makes it its controlling terminal (runtime/init.ts, "tty").
      child = startExecStage(ps, hostRoot, pty?.slave);
    } else {
      applySteps(ps);
      child = spawnProcess(ps.path, ps.argv, Object.entries(ps.env).map(([k, v]) => `${k}=${v}`), pty ? { terminal: pty.slave } : {});
    }
    if (pty) {
      // The slave's path as the message, as runc sends it (conmon and containerd's shim read it).
      sendFds(PTY_FD, new TextEncoder().encode(pty.slave), [pty.master]);
      closeSync(pty.master);
    }
    closeSync(hostRoot);
  } catch (e) {
    reply({ error: errorToWire(e) });
    process.exit(e instanceof SysError && e.status !== undefined ? e.status : 125);
  }
  try {
    reply({ pid: child });
  } catch {
    // EPIPE: `ctr exec` died since the command started (it may have printed already); the wait below kills the command
    if (spec.detach) process.exit(125);
  }
  if (spec.detach) process.exit(0);
  // 7. the command, or the host gone
  let status = 125;
  try {
    status = waitChildOrHost(child, host).status;
  } catch {
    status = 125;
  }
  process.exit(status);
}
