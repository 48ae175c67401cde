// PID 1's side of the plan: one function per pid1 operation kind.
//
// Stage 2 (runtime/init.ts) receives operations one at a time and calls
// execute(); the same path serves scripts and, later, the REPL. Each executor
// lives in the file of its kernel subsystem; this table only routes.

import { realSys, SysError, type Sys } from "../native/index.ts";
import { keepHostTree } from "./features/mount/hostmount.ts";
import { doMount, mountDev } from "./features/mount/mount.ts";
import { mountCgroup } from "./features/mount/cgroupfs.ts";
import { writeSysctls } from "./features/sysctl/sysctl.ts";
import { makeReadonly, maskPath } from "./features/mount/protect.ts";
import type { AgentState, Op, OpBody, Pid1OpKind, RunResult } from "./ops.ts";
import { callerEnvironment, execCommand, initialEnv, noteTerminal, runCommand } from "./features/process/process.ts";
import { makeConsole } from "./features/process/console.ts";
import { enterRoot, prepareRoot } from "./features/rootfs/rootfs.ts";
import { setDomainname, setHostname } from "./features/uts/uts.ts";
import { setLinkUp } from "./features/net/link.ts";
import { capChange } from "./features/security/caps.ts";
import { noteSeccomp, showSecurity } from "./features/security/security.ts";
import type { ShowResult } from "./channel/messages.ts";
import { addressLink, addRoute } from "./features/net/container.ts";
import { showNet } from "./features/net/show.ts";
import { defaultCommand } from "./features/image/root.ts";
import { mountVolume } from "./features/image/volume.ts";
import { makeNode } from "./features/devices/node.ts";

/**
 * `callerEnv`: `ns none`, a plain child process as in the clone walkthrough
 * (chapter 01): its commands keep the caller's working directory and
 * environment. A container starts from "/" and a clean environment.
 */
export function newAgentState(callerEnv = false, sys: Sys = realSys): AgentState {
  noteTerminal(); // before any mount: it reads the host's /proc
  const env = callerEnv ? callerEnvironment() : initialEnv();
  return { sys, pendingRoot: null, rootMode: null, entered: false, env, cwd: callerEnv ? process.cwd() : "/", hostCwd: process.cwd() };
}

type Executor<K extends Pid1OpKind> = (st: AgentState, op: Extract<OpBody, { kind: K }>) => RunResult | ShowResult | undefined | Promise<RunResult | undefined>;

/**
 * One executor per kind of op PID 1 performs (OP_TRAITS in runtime/ops.ts says
 * which): typed over those kinds, so an op kind without its executor here does
 * not compile.
 */
const EXECUTORS: { [K in Pid1OpKind]: Executor<K> } = {
  // Before the script's first mount: bind and overlay sources are host paths.
  "host-tree": (st) => void keepHostTree(st),
  hostname: (st, op) => void setHostname(st, op.name),
  domainname: (st, op) => void setDomainname(st, op.name),
  "link-up": (st, op) => void setLinkUp(st, op.name, op.up),
  mount: (st, op) => void doMount(st, op.mount, op.remountRo),
  "mount-dev": (st, op) => void mountDev(st, op.target, op.ro, op.strictatime === true),
  "mount-cgroup": (st, op) => void mountCgroup(st, op.target, op.ro, op.flags, op.cgroupns),
  "device-node": (st, op) => void makeNode(st, op),
  readonly: (st, op) => void makeReadonly(st, op.path),
  mask: (st, op) => void maskPath(st, op.path),
  volume: (st, op) => void mountVolume(st, op.from, op.target, op.ro, op.create),
  rootfs: (st, op) => void prepareRoot(st, op.dir, op.mode, op.overlay, op.initFiles, op.image),
  "enter-root": (st, op) => void (enterRoot(st), op.console && makeConsole(st, op.consoleSize)),
  env: (st, op) => void Object.assign(st.env, op.vars),
  cwd: (st, op) => void (st.cwd = op.dir),
  rlimit: (st, op) => void (st.rlimits = [...(st.rlimits ?? []).filter((r) => r.name !== op.name), { name: op.name, soft: op.soft, hard: op.hard }]),
  "no-new-privs": (st) => void (st.noNewPrivs = true),
  sysctl: (st, op) => void writeSysctls(st, op.values),
  cap: (st, op) => void (st.caps = capChange(st.caps, op.form, op.caps)),
  seccomp: (st, op) => void noteSeccomp(st, op.profile),
  user: (st, op) => void (st.user = op.user),
  "show-security": (st) => ({ what: "security", lines: showSecurity(st) }),
  run: (st, op) => runCommand(st, defaultCommand(st, op.argv), op.capture, op.tests),
  exec: (st, op) => execCommand(st, defaultCommand(st, op.argv), op.terminal === true),
  "net-addr": (st, op) => void addressLink(st, op.name, op.cidr),
  "net-route": (st, op) => void addRoute(st, op.dst, op.via),
  "show-net": (st) => ({ what: "net", lines: showNet(st) }),
};

function isPid1Kind(kind: Op["kind"]): kind is Pid1OpKind {
  return Object.hasOwn(EXECUTORS, kind);
}

export async function execute(st: AgentState, op: Op): Promise<RunResult | ShowResult | undefined> {
  return perform(st, op);
}

/** Call `op`'s executor at once: for the kinds that start no process it has made every call when this returns (runtime/explain.ts). */
export function perform(st: AgentState, op: Op): ReturnType<Executor<Pid1OpKind>> {
  if (!isPid1Kind(op.kind)) throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `operation \`${op.kind}\` is not performed by PID 1` });
  return (EXECUTORS[op.kind] as Executor<Pid1OpKind>)(st, op as Extract<OpBody, { kind: Pid1OpKind }>);
}
