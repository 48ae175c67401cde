// PID 1's side of the plan: one function per pid1 operation kind.
//
// Stage 2 (runtime/init.ts) receives operations one at a time and calls
// execute(); the same path serves scripts and, later, the REPL. Each executor
// lives in the file of its kernel subsystem; this table only routes.

import { realSys, SysError, type Sys } from "../native/index.ts";
import { keepHostTree } from "./hostmount.ts";
import { doMount, mountDev } from "./mount.ts";
import type { AgentState, Op, RunResult } from "./ops.ts";
import { callerEnvironment, execCommand, initialEnv, noteTerminal, runCommand } from "./process.ts";
import { enterRoot, prepareRoot } from "./rootfs.ts";

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

export async function execute(st: AgentState, op: Op): Promise<RunResult | undefined> {
  switch (op.kind) {
    case "host-tree":
      // Before the script's first mount: bind and overlay sources are host paths.
      keepHostTree(st);
      return;
    case "hostname":
      st.sys.sethostname(op.name);
      return;
    case "domainname":
      st.sys.setdomainname(op.name);
      return;
    case "mount":
      doMount(st, op.mount, op.remountRo);
      return;
    case "mount-dev":
      mountDev(st, op.target, op.ro);
      return;
    case "rootfs":
      prepareRoot(st, op.dir, op.mode, op.overlay, op.initFiles);
      return;
    case "enter-root":
      enterRoot(st);
      return;
    case "env":
      Object.assign(st.env, op.vars);
      return;
    case "cwd":
      st.cwd = op.dir;
      return;
    case "run":
      return runCommand(st, op.argv, op.capture, op.tests);
    case "exec":
      return execCommand(st, op.argv);
    default:
      throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `operation \`${op.kind}\` is not performed by PID 1` });
  }
}
