// `exec [--process FILE | ARGS...] [--detach] [--pid-file F] [--cwd DIR] [--env K=V]... ID`:
// a new process in a running OCI container, as runc's (podman's `exec` and
// containerd's `tasks exec` go through conmon or the shim to it).
//
// The process is the bundle's config with its `process` replaced by the one
// given (runc reads the same JSON: config.md's "process"), translated and
// checked by the same translation as the config (translate.ts), so a field
// ctr cannot honour is refused by name; its process spec (env, cwd, user,
// capabilities, rlimits, noNewPrivileges) and the container's seccomp profile
// are what the command gets, as runc applies the container's filter to exec'd
// processes too. The container is entered by ctr's enter stage
// (runtime/features/lifecycle/enter.ts: PID 1's namespaces, its cgroups, its
// root), which starts the command as its child in the PID namespace.
//
// --detach: the caller (conmon, the shim) is a subreaper waiting for the
// command's pid, read from --pid-file, as its own child. So the stage that
// spawned it exits once the pid is reported, without waiting for the command
// (EnterSpec.detach): a command that ended at once is not reaped by the stage,
// and the subreaper gets its status. Without --detach this ctr waits for the
// command and exits with its status.
//
// A terminal (`process.terminal`, or --tty with the command's arguments, as
// runc's): the enter stage makes a pseudo-terminal in the container's devpts
// for the command, its controlling terminal and standard streams
// (runtime/features/lifecycle/tty.ts), and sends the master on its fd 4 with
// the slave's path as the message, as runc does. With --detach that fd is the
// --console-socket, connected here before the stage starts: the caller
// (conmon, the shim) holds the master and relays it. Without --detach this ctr
// takes the master itself and relays it to its own standard streams (runc's
// own console), so a console socket is refused then, as runc refuses it. The
// window size is `process.consoleSize`'s when given.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import * as path from "node:path";
import { formatLocation } from "../../../lang/diagnostics.ts";
import { NAMESPACES } from "../../../lang/spec.ts";
import { SysError } from "../../../native/error.ts";
import { ensureInitBundle, SINGLE_THREAD_ENV } from "../../bundle.ts";
import { wireToError } from "../../channel/codec.ts";
import { stateRoot } from "../../paths.ts";
import type { EnterReply, EnterSpec } from "../lifecycle/enter.ts";
import type { WinSize } from "../lifecycle/tty.ts";
import { execDefaults } from "../lifecycle/supervise.ts";
import { compileBundle, hostFacts } from "./config.ts";
import { liveStatus, type OciRecord } from "./state.ts";

export interface ExecRequest {
  /** --process FILE's JSON, or null for the config's process with `args` (and --cwd, --env). */
  process: Record<string, unknown> | null;
  args: string[];
  cwd?: string;
  env: string[];
  detach: boolean;
  /** --tty: a terminal for the command given by its arguments (with --process, the file's `terminal` says). */
  tty: boolean;
  pidFile?: string;
  /** --console-socket: where the terminal's master goes, with --detach. */
  consoleSocket?: string;
}

/** The process to run: the --process file's, or the config's with the arguments and flags given. */
function processOf(config: Record<string, unknown>, req: ExecRequest): Record<string, unknown> {
  if (req.process) return req.process;
  if (req.args.length === 0) throw new SysError({ message: "exec: no command given", hint: "usage: ctr exec [--process FILE | ...] <container-id> <command> [args...]" });
  const base = { ...((config.process ?? {}) as Record<string, unknown>) };
  base.args = req.args;
  // As runc: the terminal of a process given by its arguments is --tty's, not the config's.
  base.terminal = req.tty;
  if (req.cwd !== undefined) base.cwd = req.cwd;
  if (req.env.length > 0) base.env = [...((base.env as string[] | undefined) ?? []), ...req.env];
  return base;
}

/**
 * The process's `terminal` and `consoleSize`, taken out of it (the enter stage
 * makes the terminal, not the translation): null without a terminal, else its
 * window size (null: the kernel's default, 0 by 0). Checked as runc checks them.
 */
function terminalOf(proc: Record<string, unknown>, req: ExecRequest): WinSize | null | undefined {
  const { terminal, consoleSize } = proc;
  delete proc.terminal;
  delete proc.consoleSize;
  if (terminal !== undefined && typeof terminal !== "boolean") throw new SysError({ message: "exec: `process.terminal` must be true or false" });
  const wanted = terminal === true || (req.process !== null && req.tty);
  // runc's rules (its checkTerminal): the master goes to a console socket only when runc detaches, and must go to one then.
  if (wanted && req.detach && req.consoleSocket === undefined) throw new SysError({ message: "exec: cannot allocate a terminal with --detach without a --console-socket to send its master to" });
  if ((!wanted || !req.detach) && req.consoleSocket !== undefined) throw new SysError({ message: "exec: --console-socket needs --detach and a terminal (--tty, or `process.terminal`)" });
  if (!wanted) return undefined;
  if (consoleSize === undefined) return null;
  const box = consoleSize as { height?: unknown; width?: unknown };
  const dim = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
  if (typeof consoleSize !== "object" || consoleSize === null || !dim(box.height) || !dim(box.width)) throw new SysError({ message: "exec: `process.consoleSize` must be { height, width }, whole numbers from 0 to 65535" });
  return { rows: box.height as number, cols: box.width as number };
}

/** The enter stage's spec for `req` in the container `rec` (its bundle's config with the process replaced). */
async function enterSpec(rec: OciRecord, req: ExecRequest): Promise<EnterSpec> {
  const file = path.join(rec.bundle, "config.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const proc = { ...processOf(config, req) };
  const tty = terminalOf(proc, req);
  const [{ defaultCacheDir }, { hostView }] = await Promise.all([import("../rootfs/cache.ts"), import("../../hostview.ts")]);
  const text = JSON.stringify({ ...config, process: proc }, null, 2);
  const b = compileBundle(file, { stateDir: `${stateRoot()}/${rec.cid}`, defaultRootfs: `${defaultCacheDir()}/rootfs`, cpus: cpus().length, host: hostView(), facts: hostFacts() }, text);
  if (!b.ok) {
    const shown = b.diagnostics.filter((d) => d.severity === "error").map((d) => `${formatLocation(d.span)}: ${d.message}`);
    throw new SysError({ message: `exec: the process cannot be run as given (in the bundle's config):\n${shown.join("\n")}` });
  }
  // process.oomScoreAdj: this process's, which the enter stage and so the command inherit (fork keeps it, as execve does).
  if (b.oomScoreAdj !== undefined) (await import("./oomscore.ts")).setOwnOomScore(b.oomScoreAdj);
  const d = execDefaults(b.result.plan.ops);
  const exec = b.result.plan.ops.find((o) => o.kind === "exec");
  return {
    pid: rec.pid1!.pid,
    start: rec.pid1!.start,
    // Every kind: the stage joins those PID 1 does not share with the host (openNs).
    namespaces: [...NAMESPACES].filter((n) => n !== "time"),
    cgroups: rec.held?.cgroups ?? [],
    argv: exec?.kind === "exec" ? exec.argv : [],
    env: d.env,
    cwd: d.cwd,
    rlimits: d.rlimits,
    noNewPrivs: d.noNewPrivs,
    ...(d.caps ? { caps: d.caps } : {}),
    ...(d.seccomp ? { seccomp: d.seccomp } : {}),
    ...(d.user ? { user: d.user } : {}),
    ...(req.detach ? { detach: true } : {}),
    ...(tty !== undefined ? { tty } : {}),
  };
}

function writePidFile(file: string, pid: number): void {
  // As runc: a temporary beside it, renamed, so a reader never sees half a pid.
  const tmp = `${path.dirname(file)}/.${path.basename(file)}`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, file);
}

/** Run `req` in the container; the command's status (0 once started, with --detach). */
export async function ociExec(rec: OciRecord, req: ExecRequest): Promise<number> {
  const st = liveStatus(rec);
  if (st !== "running" && st !== "paused") throw new SysError({ message: "cannot exec in a stopped container" });
  const spec = await enterSpec(rec, req);
  // A terminal's master goes out on the stage's fd 4 (see the header): to the console socket, or to this ctr.
  const native = spec.tty !== undefined ? await import("../../../native/index.ts") : null;
  let ours = -1;
  let theirs = -1;
  if (spec.tty !== undefined && req.consoleSocket !== undefined) {
    const { connectConsole } = await import("./supervise.ts");
    try {
      theirs = await connectConsole(req.consoleSocket);
    } catch (e) {
      throw new SysError({ message: `exec: cannot connect to the console socket "${req.consoleSocket}": ${(e as Error).message}` });
    }
  } else if (spec.tty !== undefined) [ours, theirs] = native!.socketpair();
  // The command's standard streams are this process's: conmon's and the shim's pipes, as with runc (on a terminal, the terminal).
  let stage: ReturnType<typeof Bun.spawn>;
  try {
    stage = Bun.spawn({
      cmd: [process.execPath, await ensureInitBundle(), "enter"],
      stdio: [spec.tty !== undefined ? "ignore" : "inherit", "inherit", "inherit", "pipe", ...(theirs >= 0 ? [theirs] : [])],
      env: { ...process.env, ...SINGLE_THREAD_ENV },
    });
  } finally {
    if (theirs >= 0) native!.close(theirs); // the stage has its copy
  }
  try {
    return await relayStage(stage, spec, req, ours);
  } finally {
    if (ours >= 0) native!.close(ours);
  }
}

/** Send the spec, read the reply, then wait for the command (or not, with --detach); its status. */
async function relayStage(stage: ReturnType<typeof Bun.spawn>, spec: EnterSpec, req: ExecRequest, ours: number): Promise<number> {
  const fd = (stage.stdio as unknown[])[3] as number;
  writeFileSync(fd, JSON.stringify(spec) + "\n");
  let text = "";
  let reply: EnterReply | null = null;
  for await (const chunk of Bun.file(fd).stream()) {
    text += new TextDecoder().decode(chunk);
    const nl = text.indexOf("\n");
    if (nl < 0) continue;
    reply = JSON.parse(text.slice(0, nl)) as EnterReply;
    break;
  }
  if (!reply || "error" in reply) {
    await stage.exited;
    if (reply && "error" in reply) throw wireToError(reply.error);
    throw new SysError({ message: `exec: the enter stage ended (status ${stage.exitCode ?? stage.signalCode}) before starting the command` });
  }
  const child = reply.pid;
  if (req.detach) {
    // The stage exits by itself, letting go of the command: the caller's subreaper adopts it (see the header).
    await stage.exited;
    if (req.pidFile) writePidFile(req.pidFile, child);
    return 0;
  }
  if (req.pidFile) writePidFile(req.pidFile, child);
  // runc's own console: the master, sent before the pid, relayed to this process's streams until the command's end.
  let relaying: Promise<void> | null = null;
  if (ours >= 0) {
    const { recvFds } = await import("../../../native/index.ts");
    const got = recvFds(ours, new Uint8Array(64), 1);
    if (got.fds.length !== 1) throw new SysError({ message: "exec: the enter stage sent no terminal" });
    relaying = (await import("../lifecycle/tty.ts")).relay(got.fds[0]!, true, stage.exited);
  }
  const code = await stage.exited;
  await relaying;
  return stage.signalCode ? 128 + ((await import("node:os")).constants.signals as Record<string, number>)[stage.signalCode]! : code;
}
