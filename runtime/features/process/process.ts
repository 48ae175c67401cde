// Processes inside the container: the command, `run` children and reaping.
//
// Rules that shape this file:
//   - execve(2) replaces PID 1's image in place, keeping its PID: that is how the
//     user's command becomes PID 1 of the new PID namespace (chapter 14, `run -it`). The
//     control socket is close-on-exec, so a successful execve closes it.
//   - Signal dispositions set to a handler are reset by execve, ignored ones are
//     kept, and the signal mask is inherited: PID 1 unblocks everything first.
//   - The kernel gives PID 1 of a PID namespace no default signal actions: only
//     signals it has a handler for reach it (SIGKILL from an ancestor always).
//   - Orphans of a PID namespace are re-parented to its PID 1, which must reap
//     them or they stay zombies. While stage 2 lives it reaps any child that is
//     not one of its own `run` processes (Bun reaps those itself).
//   - Before execve, the command is resolved through the container's PATH, so a
//     missing command is 127 and a non-executable one 126 (docker run's codes),
//     reported while PID 1 can still talk.
//   - The terminal is the caller's. If ctr is in its foreground, the command is
//     made the foreground process group before execve, as a shell does for a
//     job: in a PID namespace the caller's process group is invisible, and an
//     interactive shell that saved it (as 0) cannot give the terminal back on
//     `exit` ("Cannot set tty process group", status 2). Whether ctr is in the
//     foreground is read from the host's /proc at start, before `mount proc`.

import { readFileSync } from "node:fs";
import { blockSignals, getpgid, getTrace, isatty, pollReadable, PR_SET_PDEATHSIG, prctl, setpgid, setTrace, SIGKILL, SIGTTOU, SysError, tcsetpgrp, waitpid, zombieChild } from "../../../native/index.ts";
import type { AgentState, CapturedOutput, Op, OutputTest, RunResult } from "../../ops.ts";
import { OutputCapture } from "./capture.ts";
import { signalName } from "../../status.ts";
import { AsyncWriter } from "../../fdio.ts";
import { withStartOomScore } from "../cgroup/oomscore.ts";
import { applyAndExec, DEFAULT_PATH, needsExecStage, processSpec, runNeedsExecStage, type ProcessSpec } from "./spec.ts";
import { lookupStandIns } from "../security/user.ts";
import type { WireError } from "../../channel/messages.ts";
import { processTree } from "./tree.ts";
import { fromHostRoot } from "./stage.ts";
import { SINGLE_THREAD_ENV } from "../../bundle.ts";
import { takeConsole } from "./console.ts";

export { DEFAULT_PATH } from "./spec.ts";

export function initialEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: "/root" };
  if (process.env.TERM) env.TERM = process.env.TERM;
  return env;
}

/** The environment ctr was started with: the stages' own settings (runtime/bundle.ts) taken out. */
export function callerEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in SINGLE_THREAD_ENV && SINGLE_THREAD_ENV[k] === v)) env[k] = v;
  return env;
}

let foreground = false;

/**
 * Note whether ctr owns the terminal on stdin: its process group (ours, until
 * the command takes over) is the terminal's foreground group. Call this before
 * the container mounts its own /proc: the host's numbers both fields alike.
 */
export function noteTerminal(): void {
  foreground = false;
  if (!isatty(0)) return;
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // After "(comm) ": state ppid pgrp session tty_nr tpgid ...
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(f[2]);
    const tpgid = Number(f[5]);
    foreground = tpgid > 0 && tpgid === pgrp;
  } catch {
    // no /proc: leave the terminal alone
  }
}

/** Make PID 1 (soon the command) a process group of its own, in the terminal's foreground. */
function takeTerminal(): void {
  if (!foreground) return;
  try {
    setpgid(0, 0);
    blockSignals([SIGTTOU]); // a background group may then set the foreground; resetSignals unblocks it
    tcsetpgrp(0, getpgid(0));
  } catch {
    // not fatal: the command still runs, without job control
  }
}

/**
 * An adopted container (runtime/features/lifecycle/adopt.ts): stage 1 is gone
 * by the time `exec` comes (the host waited for its end before it sent
 * `exec`), and PID 1's parent is the user's shared monitor, a subreaper. The
 * command then dies with it: PR_SET_PDEATHSIG right before execve, after the
 * spec's steps (a change of uid or gid clears it). `channelFd`: the
 * supervisor's socket, whose hang-up says it died before the prctl took; a
 * monitor that died before it is seen by the supervisor, whose handover then
 * fails, and which kills PID 1 itself.
 */
let dieWithParent: { channelFd: number } | null = null;
export function dieWithParentAtExec(channelFd: number): void {
  dieWithParent = { channelFd };
}

function parentDeathSignal(): void {
  if (!dieWithParent) return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Nothing else is sent while the host waits for exec's answer: readable means its end closed.
  if (pollReadable([dieWithParent.channelFd], 0).length > 0) process.exit(137);
}

/** Replace PID 1 with the command (runtime/features/process/spec.ts). Returns only by throwing. */
export function execCommand(st: AgentState, argv: string[], terminal = false): never {
  const spec = processSpec(st, argv);
  if (!terminal)
    return applyAndExec(spec, {
      beforeExec: () => {
        takeTerminal();
        parentDeathSignal();
      },
      sys: st.sys,
    });
  // As root, before the spec's steps drop what it needs.
  takeConsole(st);
  return applyAndExec(spec, { beforeExec: parentDeathSignal, sys: st.sys });
}

const running = new Set<number>();

/** Run a command inside and wait for it; PID 1 stays. */
export async function runCommand(st: AgentState, argv: string[], capture: boolean, tests: readonly OutputTest[] = []): Promise<RunResult> {
  let spec: ProcessSpec;
  try {
    spec = processSpec(st, argv);
  } catch (e) {
    // Like a shell: a command that cannot be found or executed is a status
    // (127, 126) that `expect exit` may check, with the reason alongside.
    if (e instanceof SysError && e.status !== undefined) return { exitCode: e.status, signal: null, output: capture ? new OutputCapture(tests).finish() : undefined, error: e.message };
    throw e;
  }
  const viaExecStage = needsExecStage(spec);
  // The child gets the OOM score PID 1 started with, not PID 1's own: runtime/features/cgroup/oomscore.ts.
  const child = withStartOomScore(() =>
    viaExecStage
      ? spawnExecStage(st, spec, capture)
      : Bun.spawn({ cmd: [spec.path, ...spec.argv.slice(1)], argv0: spec.argv[0], cwd: spec.cwd, env: spec.env, stdin: "inherit", stdout: capture ? "pipe" : "inherit", stderr: "inherit" }),
  );
  running.add(child.pid);
  // Bun spawns through its own posix_spawn; report it like the native calls.
  getTrace()?.({ syscall: "posix_spawn", args: [viaExecStage ? process.execPath : spec.path, spec.argv], result: child.pid, ms: 0 });
  const handover = viaExecStage ? handSpec(child, spec) : Promise.resolve(null);
  let output: CapturedOutput | undefined;
  if (capture) {
    // Tee: the user sees the output as it comes; `expect` gets a bounded
    // part of it and the running outcome of its tests (runtime/features/process/capture.ts).
    // The write waits for a slow reader of ctr's output without blocking
    // PID 1's event loop (its signals, the host's interrupt).
    const kept = new OutputCapture(tests);
    const out = new AsyncWriter(1);
    for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
      out.write(chunk);
      kept.push(chunk);
      await out.idle();
    }
    output = kept.finish();
  }
  await child.exited;
  running.delete(child.pid);
  const failed = await handover;
  if (failed) return { exitCode: failed.status ?? 126, signal: null, output, error: failed.message };
  return { exitCode: child.signalCode ? null : child.exitCode, signal: child.signalCode ? signalName(child.signalCode) : null, output };
}

/**
 * Start the exec stage (runtime/init.ts "exec"): a fresh init process that
 * becomes the command. Inside a new root it is started from the host's tree
 * and enters the root itself (runtime/features/process/stage.ts).
 */
function spawnExecStage(st: AgentState, spec: ProcessSpec, capture: boolean) {
  const start = (root?: number) =>
    Bun.spawn({
      cmd: [process.execPath, process.argv[1]!, "exec", ...(root === undefined ? [] : ["root"])],
      argv0: spec.argv[0],
      // In the host's tree the container's working directory means nothing: the stage changes to it itself.
      ...(root === undefined ? {} : { cwd: "/" }),
      stdio: ["inherit", capture ? "pipe" : "inherit", "inherit", "pipe", ...(root === undefined ? [] : [root])],
    });
  return st.entered ? fromHostRoot(st.sys, st.hostTree, start) : start();
}

/**
 * Hand the exec stage its spec on its fd 3 and wait for the end of that
 * socket: closed by a successful execve (close-on-exec), or first carrying the
 * error that kept the command from starting.
 */
async function handSpec(child: ReturnType<typeof Bun.spawn>, spec: ProcessSpec): Promise<WireError | null> {
  const fd = (child.stdio as unknown[])[3] as number;
  const out = new AsyncWriter(fd);
  out.write(new TextEncoder().encode(JSON.stringify(spec) + "\n"));
  await out.idle();
  const text = await new Response(Bun.file(fd).stream()).text().catch(() => "");
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as WireError;
  } catch {
    return { errno: 0, code: "", syscall: "execve", args: [spec.path], message: `the exec stage of "${spec.argv[0]}" failed: ${text.trim().slice(0, 200)}`, status: 126 };
  }
}

/**
 * Signal every `run` in progress and every process below it (the host
 * interrupts a run: Ctrl-C in the REPL). Its descendants too: a shell that
 * ignores SIGINT would otherwise die of the SIGTERM that follows and leave its
 * children running in the container (runtime/features/process/tree.ts).
 */
export function signalRunning(sig: NodeJS.Signals): void {
  for (const child of running) {
    // The whole tree is read first: once the command dies, its children are re-parented.
    for (const pid of processTree(child, process.pid === 1)) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }
}

/** Reap zombies that are not ours (re-parented orphans). Not traced: bookkeeping. */
export function reapOrphans(): void {
  const trace = getTrace();
  setTrace(null);
  try {
    for (;;) {
      const pid = zombieChild();
      if (pid <= 0 || running.has(pid)) return;
      waitpid(pid, 0);
    }
  } finally {
    setTrace(trace);
  }
}

/** `ctr explain`'s comment on `run`: Bun.spawn starts it (posix_spawn inside Bun, not through the seam). */
export function runNotes(op: Op, _ctx: unknown, st: AgentState): { before?: string[]; calls?: Record<string, string> } {
  if (op.kind !== "run") return {};
  if (runNeedsExecStage(st, lookupStandIns(st.user).read)) {
    return {
      before: [`PID 1 starts the exec stage with Bun.spawn (a fresh init process: the spec has steps only the new process can take), hands it the spec and waits for it; the exec stage makes these calls and becomes ${JSON.stringify(op.argv)}`],
      calls: { resetSignals: "every signal's action back to SIG_DFL, the mask emptied" },
    };
  }
  return { before: [`PID 1 starts ${JSON.stringify(op.argv)} with Bun.spawn (posix_spawn inside Bun, outside the seam) and waits for it`] };
}
