// The lifecycle commands of the CLI (issue 15, item 4): `ctr -d` (a detached
// container, its supervisor spawned by the user's shared monitor, started here
// if none runs: monitor.ts, monitor-link.ts), `ps`, `exec`, `logs`, `stop`,
// `kill`, `rm`, `inspect`. Each reads the records of store.ts; none trusts a
// recorded PID by itself (procstat.ts): a process is signalled only through a
// pidfd opened before its start time was checked.
//
// Every command first sweeps what a killed supervisor or monitor left (sweepRecords):
// a record still "running" or "created" whose supervisor is no longer that
// process is marked stopped (exit status unknown), its PID 1 killed if it
// still is the recorded process (stage 1 normally did it already), and the
// per-container directories and cgroups named after dead ctr processes are
// removed (runtime/statedir.ts, runtime/features/cgroup/manager.ts), and a
// killed monitor's socket (monitor-link.ts).
// `exec` sweeps its own container's record only (sweepRecord): its latency is
// a benchmark (bench/lifecycle.ts), and reading every record, directory and
// cgroup of the machine was a fifth of it.

import { closeSync, constants, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { close, pidfdOpen, pidfdSendSignal, recvFds, socketpair, SysError } from "../../../native/index.ts";
import { constants as osConstants } from "node:os";
import { packageRoot, enterBundle, ensureInitBundle, initBundle, SINGLE_THREAD_ENV } from "../../bundle.ts";
import { wireToError } from "../../channel/codec.ts";
import { AsyncWriter, writeAll } from "../../fdio.ts";
import { HANDLED_SIGNALS } from "../../status.ts";
import { removeStateDir, sweepStaleStateDirs } from "../../statedir.ts";
import { releaseNetOf, sweepStaleNet } from "../net/host.ts";
import { machineCgroups } from "../cgroup/detect.ts";
import { sweepStaleCgroups } from "../cgroup/manager.ts";
import type { EnterReply, EnterSpec } from "./enter.ts";
import { canEnterHere, enterHere } from "./enter-here.ts";
import { checkName, generateName } from "./names.ts";
import { sameProcess } from "./procstat.ts";
import { exists, listStates, logPath, readState, recordsRoot, removeRecord, reserve, taken, writeState, type ContainerState, type ProcRef } from "./store.ts";
import { connectMonitor, sweepStaleMonitor, type MonitorLink } from "./monitor-link.ts";
import { newState } from "./supervise.ts";
import { relay, winSize } from "./tty.ts";

const EXIT_USAGE = 2;
const EXIT_SETUP = 125;

function fail(message: string, status = EXIT_SETUP, hint?: string): never {
  throw new SysError({ message, status, hint });
}

/** Say an error as the CLI does; its status. */
function report(e: unknown): number {
  if (!(e instanceof SysError)) throw e;
  writeAll(2, `ctr: ${e.message}\n`);
  if (e.hint) writeAll(2, `help: ${e.hint}\n`);
  return e.status ?? EXIT_SETUP;
}

const isLive = (s: ContainerState): boolean => s.status === "running" && sameProcess(s.supervisor) && sameProcess(s.pid1);

/** Signal the recorded process `p` (and only it): false when it is not that process any more. */
function signalRecorded(p: ProcRef | null, sig: number): boolean {
  if (!p) return false;
  let fd: number;
  try {
    fd = pidfdOpen(p.pid);
  } catch {
    return false; // gone
  }
  try {
    if (!sameProcess(p)) return false; // the PID is another process's now
    pidfdSendSignal(fd, sig);
    return true;
  } catch {
    return false;
  } finally {
    close(fd);
  }
}

/** See the header. Returns the names whose records it marked stopped. */
export function sweepRecords(): string[] {
  const swept: string[] = [];
  for (const s of listStates()) if (sweepRecord(s)) swept.push(s.name);
  sweepStaleNet(); // before the directories whose `net` files name the links go (as a run's session does)
  sweepStaleStateDirs();
  sweepStaleMonitor();
  try {
    const sys = machineCgroups();
    if (sys.mode !== "none") sweepStaleCgroups(sys);
  } catch {
    // cgroups this user may not look at
  }
  return swept;
}

/** One record of the sweep: marked stopped if nobody watches its container any more (true then). */
function sweepRecord(s: ContainerState): boolean {
  if (s.status === "stopped" || sameProcess(s.supervisor)) return false;
  // Nobody watches this container any more.
  signalRecorded(s.pid1, osConstants.signals.SIGKILL);
  Object.assign(s, { status: "stopped", exitStatus: null, finished: new Date().toISOString(), note: "its supervisor was killed", supervisor: null });
  writeState(s);
  // Its per-container directory: the sweep below goes by PID, and a killed supervisor may still be a zombie no one has reaped.
  if (/^ctr-[a-z0-9]+-\d+$/.test(s.id)) {
    releaseNetOf(s.id); // its links first: the directory's `net` file is their only record (features/net/host.ts)
    removeStateDir(`${recordsRoot()}/${s.id}`);
  }
  return true;
}

function stateOf(name: string | undefined, what: string): ContainerState {
  if (!name) fail(`${what}: missing NAME`, EXIT_USAGE);
  checkName(name);
  const s = readState(name);
  if (!s) fail(`no such container: ${name}`, EXIT_SETUP, "`ctr ps -a` lists them");
  return s;
}

function running(name: string | undefined, what: string): ContainerState {
  const s = stateOf(name, what);
  if (!isLive(s)) fail(`container ${s.name} is not running (${s.status}${s.exitStatus !== undefined ? `, exit status ${s.exitStatus ?? "unknown"}` : ""})`);
  return s;
}

// ---- ctr -d --------------------------------------------------------------------

/**
 * The shared monitor lives as long as the user's detached containers, and a
 * supervisor of one without `ns pid` as long as its container, mostly
 * waiting; their memory is the cost of each container (bench/lifecycle.ts): Bun's
 * `--smol` heap, no JIT (its code and data cost ~2 MiB a process, which a
 * process that waits does not win back), and freed memory handed back at
 * once. Its stage 1 gets SINGLE_THREAD_ENV's values of both over these
 * (runtime/bundle.ts), and an `ns none` command does not see them
 * (features/process/process.ts, callerEnvironment). Measured (6 containers,
 * smaps_rollup): supervisor 11.0 -> 8.4 MiB anonymous, `ctr -d` no slower.
 * (The CLI bundle without bytecode saved 1.3 MiB more, but made
 * `ctr -d` ~75 ms slower: not done.)
 */
const SUPERVISOR_ENV: Record<string, string> = { BUN_JSC_useJIT: "0", MIMALLOC_PURGE_DELAY: "0" };

/**
 * Start a detached container: the record first (the name is taken or not
 * here, before anything is made), then its supervisor, which the monitor
 * spawns in a new session with the log as stdout and stderr and this
 * process's environment, cwd and umask. Returns once PID 1 is up (the name on stdout,
 * status 0) or the container could not be set up (its log on stderr).
 * `argv`: the supervisor's script arguments (FILE ARGS or -e TEXT ARGS).
 */
export async function detach(name: string | null, script: string, argv: readonly string[], trace: boolean): Promise<number> {
  try {
    sweepRecords();
    let chosen = name === null ? null : checkName(name);
    if (chosen !== null && exists(chosen)) throw taken(chosen);
    for (let attempt = 0; ; attempt++) {
      const n = chosen ?? generateName();
      try {
        reserve(newState({ name: n, detached: true }, script, process.pid));
        chosen = n;
        break;
      } catch (e) {
        if (name !== null || attempt > 8 || !(e instanceof SysError && e.message.includes("taken"))) throw e;
      }
    }
    const env = { ...process.env, ...SUPERVISOR_ENV };
    // The monitor spawns the supervisor: a request it did not answer (it was on its way out) is asked again.
    let link: MonitorLink;
    for (let attempt = 0; ; attempt++) {
      link = await connectMonitor({ cmd: [process.execPath, "--smol", `${packageRoot()}/runtime/monitor-main.ts`], env });
      link.send({ t: "spawn", name: chosen, cmd: [process.execPath, "--smol", `${packageRoot()}/runtime/main.ts`, ...(trace ? ["--trace"] : []), "--supervise", chosen, ...argv], env, cwd: process.cwd(), umask: process.umask() });
      const r = link.reply(10_000);
      if (r !== "closed" && r.t === "spawned") break;
      link.close();
      if (r !== "closed") fail(`the container monitor refused: ${String(r.message)}`);
      if (attempt > 20) fail("the container monitor keeps closing its connections");
    }
    let code: number | null = null;
    try {
      for (;;) {
        const s = readState(chosen);
        if (s?.status === "running") {
          writeAll(1, chosen + "\n");
          return 0;
        }
        if (s?.status === "stopped" || s === null) break;
        const m = link.next(5);
        if (m === "closed") break; // the monitor was killed
        if (m?.t === "exited") {
          code = Number(m.code);
          break;
        }
      }
      // The supervisor's end, once the monitor removed what it left.
      for (const until = Date.now() + 10_000; code === null && Date.now() < until; ) {
        const m = link.next(until - Date.now());
        if (m === "closed") break;
        if (m?.t === "exited") code = Number(m.code);
      }
    } finally {
      link.close();
    }
    const s = readState(chosen);
    // Running: its supervisor may have handed it to the monitor and ended between two looks above.
    if (s?.status === "running" || (s?.status === "stopped" && s.started)) {
      writeAll(1, chosen + "\n"); // or it started, and has ended already: `ctr logs` says how
      return 0;
    }
    // It never started: say why (its log) and leave nothing behind.
    const text = readLog(chosen);
    if (text) writeAll(2, text);
    removeRecord(chosen);
    sweepRecords();
    return code && code !== 0 ? code : EXIT_SETUP;
  } catch (e) {
    return report(e);
  }
}

function readLog(name: string): string {
  try {
    return readFileSync(logPath(name), "utf8");
  } catch {
    return "";
  }
}

// ---- ps, inspect, logs ---------------------------------------------------------

function ago(iso: string | undefined): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function statusText(s: ContainerState): string {
  if (s.status === "running") return isLive(s) ? `Up ${ago(s.started).replace(/ ago$/, "")}` : "Gone";
  if (s.status === "created") return "Created";
  return `Exited (${s.exitStatus ?? "unknown"})${s.note ? ` ${s.note}` : ""}`;
}

export function psCommand(args: string[]): number {
  let all = false;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-a" || a === "--all") all = true;
    else if (a === "--format" && args[i + 1] === "json") (json = true), i++;
    else if (a === "--format=json") json = true;
    else return report(new SysError({ message: `ps: unknown option \`${a}\``, hint: "ctr ps [-a] [--format json]", status: EXIT_USAGE }));
  }
  try {
    sweepRecords();
  } catch (e) {
    return report(e);
  }
  const shown = listStates().filter((s) => all || s.status !== "stopped");
  if (json) {
    writeAll(1, JSON.stringify(shown.map((s) => ({ ...s, live: isLive(s) })), null, 2) + "\n");
    return 0;
  }
  const rows = [["NAME", "STATUS", "PID", "CREATED", "COMMAND"], ...shown.map((s) => [s.name, statusText(s), s.status === "running" && s.pid1 ? String(s.pid1.pid) : "-", ago(s.created), s.command])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  writeAll(1, rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join("   ").trimEnd()).join("\n") + "\n");
  return 0;
}

export function inspectCommand(args: string[]): number {
  try {
    sweepRecords();
    const s = stateOf(args[0], "inspect");
    writeAll(1, JSON.stringify({ ...s, live: isLive(s) }, null, 2) + "\n");
    return 0;
  } catch (e) {
    return report(e);
  }
}

export async function logsCommand(args: string[]): Promise<number> {
  const follow = args[0] === "-f" || args[0] === "--follow";
  try {
    const s = stateOf(follow ? args[1] : args[0], "logs");
    if (!s.detached) fail(`container ${s.name} runs in the foreground: its output went to the terminal that started it`);
    let pos = 0;
    for (;;) {
      let size = 0;
      try {
        size = statSync(logPath(s.name)).size;
      } catch {
        return 0; // removed meanwhile
      }
      if (size > pos) {
        const fd = openSync(logPath(s.name), constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          const buf = Buffer.alloc(size - pos);
          const n = readSync(fd, buf, 0, buf.length, pos);
          pos += n;
          writeAll(1, buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
      }
      const now = follow ? readState(s.name) : null;
      if (!follow || !now || now.status === "stopped" || !sameProcess(now.supervisor)) {
        if (follow && statSync(logPath(s.name), { throwIfNoEntry: false })?.size !== pos) continue;
        return 0;
      }
      await Bun.sleep(100);
    }
  } catch (e) {
    return report(e);
  }
}

// ---- stop, kill, rm -------------------------------------------------------------

function signalNumber(name: string): number | null {
  const upper = name.toUpperCase();
  if (/^\d+$/.test(name)) return Number(name) > 0 && Number(name) < 65 ? Number(name) : null;
  const n = (osConstants.signals as Record<string, number>)[upper.startsWith("SIG") ? upper : `SIG${upper}`];
  return n ?? null;
}

/**
 * Wait up to `ms` for the container's end to be recorded: its record
 * "stopped" (by its supervisor, or by the shared monitor, which lives on:
 * monitor.ts), or its watcher gone; true if it was.
 */
async function waitEnded(s: ContainerState, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const now = readState(s.name);
    if (!now || now.status === "stopped" || !sameProcess(now.supervisor)) return true;
    if (Date.now() >= until) return false;
    await Bun.sleep(10);
  }
}

/** Stop: SIGTERM to PID 1, SIGKILL after `seconds`; returns once the end is recorded. */
async function stopContainer(s: ContainerState, seconds: number): Promise<void> {
  signalRecorded(s.pid1, osConstants.signals.SIGTERM);
  if (!(await waitEnded(s, seconds * 1000))) {
    signalRecorded(s.pid1, osConstants.signals.SIGKILL);
    if (!(await waitEnded(s, 10_000))) fail(`container ${s.name}'s supervisor (pid ${s.supervisor?.pid}) did not record its end after SIGKILL of its PID 1`);
  }
}

export async function stopCommand(args: string[]): Promise<number> {
  let seconds = 10;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-t" || a === "--time") {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v < 0) return report(new SysError({ message: `stop: -t needs a number of seconds`, status: EXIT_USAGE }));
      seconds = v;
    } else names.push(a);
  }
  if (names.length === 0) return report(new SysError({ message: "stop: missing NAME", hint: "ctr stop [-t SECONDS] NAME", status: EXIT_USAGE }));
  try {
    sweepRecords();
    for (const name of names) {
      const s = stateOf(name, "stop");
      if (isLive(s)) await stopContainer(s, seconds);
      writeAll(1, name + "\n");
    }
    return 0;
  } catch (e) {
    return report(e);
  }
}

export function killCommand(args: string[]): number {
  try {
    sweepRecords();
    const s = running(args[0], "kill");
    const sig = signalNumber(args[1] ?? "KILL");
    if (sig === null) fail(`kill: unknown signal \`${args[1]}\``, EXIT_USAGE);
    if (!signalRecorded(s.pid1, sig)) fail(`container ${s.name} is not running`);
    writeAll(1, s.name + "\n");
    return 0;
  } catch (e) {
    return report(e);
  }
}

export async function rmCommand(args: string[]): Promise<number> {
  const force = args.includes("-f") || args.includes("--force");
  const names = args.filter((a) => a !== "-f" && a !== "--force");
  if (names.length === 0) return report(new SysError({ message: "rm: missing NAME", hint: "ctr rm [-f] NAME", status: EXIT_USAGE }));
  try {
    sweepRecords();
    for (const name of names) {
      const s = stateOf(name, "rm");
      if (s.status !== "stopped" && sameProcess(s.supervisor)) {
        if (!force) fail(`container ${name} is running`, EXIT_SETUP, `stop it first (ctr stop ${name}), or ctr rm -f ${name}`);
        signalRecorded(s.pid1, osConstants.signals.SIGKILL);
        if (!(await waitEnded(s, 10_000))) fail(`container ${name}'s supervisor (pid ${s.supervisor?.pid}) did not record its end`);
      }
      removeRecord(name);
      writeAll(1, name + "\n");
    }
    sweepRecords();
    return 0;
  } catch (e) {
    return report(e);
  }
}

// ---- exec ------------------------------------------------------------------------

const EXEC_USAGE = "ctr exec [-i] [-t] [-e K=V] [-w DIR] NAME CMD [ARGS]";

/** `ctr exec [-i] [-t] [-e K=V] [-w DIR] NAME CMD [ARGS]`: a new process in the running container (enter.ts; -t: tty.ts). */
export async function execCommand(args: string[], early: ReturnType<typeof Bun.spawn> | null = null): Promise<number> {
  const handed = { over: false };
  try {
    return await execWith(args, early, handed);
  } finally {
    // An early enter stage that got no spec (the line refused, or the container not running) ends quietly.
    if (early && !handed.over) {
      early.kill("SIGKILL");
      await early.exited;
    }
  }
}

/** execCommand; `early`: the enter stage runtime/main.ts started (no -t), else started here; `handed.over` once it has its spec. */
async function execWith(args: string[], early: ReturnType<typeof Bun.spawn> | null, handed: { over: boolean }): Promise<number> {
  let interactive = false;
  let tty = false;
  const env: Record<string, string> = {};
  let cwd: string | null = null;
  let i = 0;
  for (; i < args.length && args[i]!.startsWith("-"); i++) {
    const a = args[i]!;
    if (a === "-i" || a === "--interactive") interactive = true;
    else if (a === "-t" || a === "--tty") tty = true;
    else if (a === "-it" || a === "-ti") interactive = tty = true;
    else if (a === "-e" || a === "--env") {
      const kv = args[++i] ?? "";
      const eq = kv.indexOf("=");
      if (eq <= 0) return report(new SysError({ message: `exec: -e needs K=V, not \`${kv}\``, status: EXIT_USAGE }));
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === "-w" || a === "--workdir") {
      cwd = args[++i] ?? "";
      if (!cwd.startsWith("/")) return report(new SysError({ message: "exec: -w needs an absolute directory", status: EXIT_USAGE }));
    } else if (a === "--") {
      i++;
      break;
    } else return report(new SysError({ message: `exec: unknown option \`${a}\``, hint: EXEC_USAGE, status: EXIT_USAGE }));
  }
  const [name, ...argv] = args.slice(i);
  if (!name || argv.length === 0) return report(new SysError({ message: "exec: missing NAME or CMD", hint: EXEC_USAGE, status: EXIT_USAGE }));
  let s: ContainerState;
  try {
    sweepRecord(stateOf(name, "exec"));
    s = running(name, "exec");
  } catch (e) {
    return report(e);
  }
  const d = s.exec ?? { env: {}, cwd: "/", rlimits: [], noNewPrivs: false };
  const spec: EnterSpec = {
    pid: s.pid1!.pid,
    start: s.pid1!.start,
    namespaces: s.namespaces,
    cgroups: s.cgroups,
    argv,
    env: { ...d.env, ...(process.env.TERM && !d.env.TERM ? { TERM: process.env.TERM } : {}), ...env },
    cwd: cwd ?? d.cwd,
    rlimits: d.rlimits,
    noNewPrivs: d.noNewPrivs,
    ...(d.caps ? { caps: d.caps } : {}),
    ...(d.seccomp ? { seccomp: d.seccomp } : {}),
    ...(d.user ? { user: d.user } : {}),
    ...(tty ? { tty: winSize(1) ?? winSize(0) } : {}),
  };
  // Without a stage when this process can (enter-here.ts); else null, nothing done.
  const guard = enterBundle(initBundle());
  if (!early && canEnterHere(spec) && existsSync(guard)) {
    try {
      const code = enterHere(spec, interactive ? "inherit" : "ignore", guard);
      if (code !== null) return code;
    } catch (e) {
      return report(e);
    }
  }
  // -t: the stage sends the terminal's master on a socket of its own (its fd 4, tty.ts).
  const [ours, theirs] = tty ? socketpair() : [-1, -1];
  const stage =
    early && !tty
      ? early
      : Bun.spawn({
          cmd: [process.execPath, enterBundle(await ensureInitBundle()), "enter"],
          stdio: [interactive && !tty ? "inherit" : "ignore", "inherit", "inherit", "pipe", ...(tty ? [theirs] : [])],
          env: { ...process.env, ...SINGLE_THREAD_ENV },
        });
  if (tty) close(theirs);
  let relaying: Promise<void> | null = null;
  const fd = (stage.stdio as unknown[])[3] as number;
  let child = 0;
  const forward = (sig: NodeJS.Signals) => {
    try {
      if (child > 0) process.kill(child, sig);
    } catch {
      // ended
    }
  };
  for (const sig of HANDLED_SIGNALS) process.on(sig, forward);
  try {
    const out = new AsyncWriter(fd);
    if (stage === early) handed.over = true;
    out.write(new TextEncoder().encode(JSON.stringify(spec) + "\n"));
    await out.idle();
    let text = "";
    let error: EnterReply | null = null;
    for await (const chunk of Bun.file(fd).stream()) {
      text += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        const r = JSON.parse(line) as EnterReply;
        if ("pid" in r) {
          child = r.pid;
          // Sent before the pid: there already.
          if (tty) relaying = relay(takeMaster(ours), interactive, stage.exited);
        } else error = r;
      }
    }
    const code = await stage.exited;
    await relaying;
    if (error && "error" in error) return report(wireToError(error.error));
    return stage.signalCode ? 128 + (osConstants.signals as Record<string, number>)[stage.signalCode]! : code;
  } finally {
    for (const sig of HANDLED_SIGNALS) process.off(sig, forward);
    if (tty) close(ours);
  }
}

/** The terminal's master, from the enter stage's socket. */
function takeMaster(sock: number): number {
  const got = recvFds(sock, new Uint8Array(16), 1);
  if (got.fds.length !== 1) fail("exec -t: the exec stage sent no terminal");
  return got.fds[0]!;
}
