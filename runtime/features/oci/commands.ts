// ctr as an OCI runtime: runc's command line (issue 18, item 1), so that
// podman (`--runtime /path/to/ctr`) and containerd can run containers with it.
//
// How ctr knows it is called as a runtime: recognise.ts.
// Errors are said on stderr and, with `--log`, in the log as runc writes it
// (log.ts); runc's exit status for every failure is 1, and so is ctr's here.

import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import * as path from "node:path";
import { SysError } from "../../../native/error.ts";
import { packageRoot } from "../../bundle.ts";
import { writeAll } from "../../fdio.ts";
import { stateRoot } from "../../paths.ts";
import { OciLog, type LogOptions } from "./log.ts";
import { BOOL_FLAGS, VALUE_FLAGS } from "./recognise.ts";
import { freeze, thaw } from "../cgroup/freezer.ts";
import { realFs } from "../cgroup/fs.ts";
import { containerFreezer, defaultRoot, liveStatus, OCI_VERSION, OciStore, running, specState, type OciRecord } from "./state.ts";
import { errorText } from "./errors.ts";

const EXIT_FAIL = 1;

/** Verbs not done yet: said, with exit status 1. */
const NOT_YET: Record<string, string> = {
  events: "container events",
  checkpoint: "checkpoint/restore (CRIU)",
  restore: "checkpoint/restore (CRIU)",
};

interface Parsed {
  flags: Map<string, string | true>;
  args: string[];
}

/** A verb's own flags: `--name value`, `--name=value`, `-name value` (Go's flag syntax, as runc's CLI takes), and booleans. */
function parseFlags(argv: readonly string[], withValue: Record<string, string>, bools: Record<string, string>): Parsed {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      continue;
    }
    const [raw, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const name = raw.replace(/^--?/, "");
    if (withValue[name]) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new SysError({ message: `flag needs an argument: -${name}` });
      flags.set(withValue[name]!, v);
    } else if (bools[name]) flags.set(bools[name]!, inline ?? true);
    else throw new SysError({ message: `flag provided but not defined: -${name}` });
  }
  return { flags, args };
}

function oneId(p: Parsed, verb: string, max = 1): string {
  if (p.args.length < 1 || p.args.length > max) throw new SysError({ message: `"${verb}" requires ${max === 1 ? "exactly 1 argument" : `1 to ${max} arguments`}`, hint: `usage: ctr ${verb} [flags] <container-id>` });
  return p.args[0]!;
}

/** `ctr [runc's global flags] VERB ...` */
/** `early`: the stage 1 runtime/main.ts started for a supervisor (`--oci-supervise`); killed when nothing uses it. */
export async function ociMain(argv: readonly string[], early: ReturnType<typeof Bun.spawn> | null = null): Promise<number> {
  const log: LogOptions = { file: null, format: "text", debug: false };
  let root = defaultRoot();
  let systemd = false;
  let i = 0;
  if (argv[0] === "--oci-supervise") return superviseMain(argv[1] ?? "", early);
  if (early) {
    early.kill("SIGKILL");
    await early.exited;
  }
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const a = argv[i]!;
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (BOOL_FLAGS.has(name)) {
      if (name === "--debug") log.debug = inline !== "false";
      else systemd = inline !== "false";
      continue;
    }
    if (!VALUE_FLAGS.has(name)) {
      new OciLog(log).error(`flag provided but not defined: ${name}`);
      return EXIT_FAIL;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) {
      new OciLog(log).error(`flag needs an argument: ${name}`);
      return EXIT_FAIL;
    }
    if (name === "--root") root = path.resolve(v);
    else if (name === "--log") log.file = path.resolve(v);
    else if (name === "--log-format") {
      if (v !== "text" && v !== "json") {
        new OciLog(log).error(`unknown log-format ${JSON.stringify(v)}`);
        return EXIT_FAIL;
      }
      log.format = v;
    } else if (name === "--rootless" && v !== "false" && v !== "auto") {
      new OciLog(log).error("--rootless is not supported yet: run ctr as root, or give the bundle a user namespace");
      return EXIT_FAIL;
    }
    // --criu names a CRIU binary: nothing here uses one (checkpoint is not supported yet).
  }
  const l = new OciLog(log);
  // Said in the log, not refused: podman and containerd pass it when their own cgroup manager is systemd.
  if (systemd) l.line("warning", "--systemd-cgroup: ctr makes the container's cgroups itself (cgroupfs, below its own cgroup), not through systemd");
  const [verb, ...rest] = argv.slice(i);
  const store = new OciStore(root);
  l.line("debug", `${verb ?? ""} ${rest.join(" ")} (root ${root})`);
  try {
    switch (verb) {
      case "create":
        return await create(store, rest, log, l);
      case "start":
        return await start(store, oneId(parseFlags(rest, {}, {}), "start"), l);
      case "state":
        writeAll(1, JSON.stringify(specState(store.get(oneId(parseFlags(rest, {}, {}), "state"))), null, 2) + "\n");
        return 0;
      case "kill":
        return kill(store, parseFlags(rest, {}, { all: "all", a: "all" }));
      case "delete":
        return await remove(store, parseFlags(rest, {}, { force: "force", f: "force" }), l);
      case "run":
        return await run(store, rest, log, l);
      case "ps":
        return ps(store, parseFlags(rest, { format: "format", f: "format" }, {}));
      case "list":
        return list(store, parseFlags(rest, { format: "format", f: "format" }, { quiet: "quiet", q: "quiet" }));
      case "exec":
        return await exec(store, rest);
      case "pause":
        return await pause(store, oneId(parseFlags(rest, {}, {}), "pause"));
      case "update":
        return await update(store, parseFlags(rest, (await import("./update.ts")).UPDATE_FLAGS, {}));
      case "resume":
        return resume(store, oneId(parseFlags(rest, {}, {}), "resume"));
      case "features":
        writeAll(1, JSON.stringify(await features(), null, 2) + "\n");
        return 0;
      case "spec":
        return spec(parseFlags(rest, { bundle: "bundle", b: "bundle" }, { rootless: "rootless" }));
      case undefined:
        throw new SysError({ message: "no command given", hint: "commands: create, start, state, kill, delete, run, exec, pause, resume, update, ps, list, features, spec" });
      default:
        if (NOT_YET[verb]) throw new SysError({ message: `\`${verb}\` is not supported yet: ${NOT_YET[verb]}` });
        throw new SysError({ message: `no such command: ${verb}` });
    }
  } catch (e) {
    l.error(errorText(e));
    return EXIT_FAIL;
  }
}

const CREATE_FLAGS = { bundle: "bundle", b: "bundle", "pid-file": "pid-file", "console-socket": "console-socket", "preserve-fds": "preserve-fds" };
const CREATE_BOOLS = { "no-pivot": "no-pivot", "no-new-keyring": "no-new-keyring", detach: "detach", d: "detach", "no-subreaper": "no-subreaper", keep: "keep" };

/** The flags of create and run that ctr cannot honour, refused before anything is made. */
function refuseFlags(p: Parsed): void {
  if (p.flags.has("no-pivot")) throw new SysError({ message: "--no-pivot is not supported yet: ctr always enters the root with pivot_root" });
  const keep = p.flags.get("preserve-fds");
  if (keep !== undefined && keep !== "0") throw new SysError({ message: "--preserve-fds is not supported yet: the container's process gets its standard streams only" });
  // --no-new-keyring asks for what ctr does anyway: it never makes a session keyring.
  // --no-subreaper (run): ctr's supervisor reaps nothing of the container's itself.
}

/** --console-socket PATH, absolute (the supervisor connects to it from /). */
function consoleOf(p: Parsed): { console?: string } {
  const s = p.flags.get("console-socket");
  return typeof s === "string" ? { console: path.resolve(s) } : {};
}

function writePidFile(p: Parsed, pid: number): void {
  const file = p.flags.get("pid-file");
  if (typeof file !== "string") return;
  // As runc does: a temporary beside it, renamed, so a reader never sees half a pid.
  const tmp = `${path.dirname(file)}/.${path.basename(file)}`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, file);
}

/** `create [--bundle DIR] [--pid-file F] ID`: the supervisor, started in a session of its own; returns once PID 1 waits. */
async function create(store: OciStore, argv: readonly string[], log: LogOptions, l: OciLog): Promise<number> {
  const p = parseFlags(argv, CREATE_FLAGS, CREATE_BOOLS);
  const id = oneId(p, "create");
  refuseFlags(p);
  const bundle = path.resolve(typeof p.flags.get("bundle") === "string" ? (p.flags.get("bundle") as string) : ".");
  store.reserve(id);
  const sup = Bun.spawn({
    cmd: [process.execPath, `${packageRoot()}/runtime/main.ts`, "--oci-supervise", JSON.stringify({ root: store.root, id, bundle, log, start: false, ...consoleOf(p) })],
    stdio: ["inherit", "inherit", "inherit"],
    detached: true,
    env: process.env,
  });
  let exited = false;
  void sup.exited.then(() => (exited = true));
  for (;;) {
    const rec = store.read(id);
    if (rec && rec.status !== "creating" && rec.pid1) {
      if (rec.status === "stopped") break;
      writePidFile(p, rec.pid1.pid);
      sup.unref();
      return 0;
    }
    if (exited) break;
    await Bun.sleep(5);
  }
  await sup.exited;
  let why = "";
  try {
    why = readFileSync(`${store.dir(id)}/error`, "utf8");
  } catch {
    why = `the supervisor exited with status ${sup.exitCode ?? sup.signalCode}`;
  }
  // As runc's destroy of a container whose create failed: its poststop hooks run now (hooks.ts), since
  // no record is left for a `delete` to find. A config that did not compile has none to run.
  const rec = store.read(id);
  if (rec) await (await import("./hooks.ts")).runPoststop(rec, (text) => l.line("warning", text));
  store.remove(id);
  l.error(why.trimEnd());
  return EXIT_FAIL;
}

/** `--oci-supervise JSON`: the supervisor create started. */
async function superviseMain(json: string, early: ReturnType<typeof Bun.spawn> | null): Promise<number> {
  const a = JSON.parse(json) as { root: string; id: string; bundle: string; log: LogOptions; console?: string };
  const { supervise } = await import("./supervise.ts");
  return supervise({ store: new OciStore(a.root), id: a.id, bundle: a.bundle, log: new OciLog(a.log), startAtOnce: false, early, ...(a.console ? { console: a.console } : {}) });
}

/** `start ID`: ask the supervisor on start.sock; it answers once the command is PID 1. */
async function start(store: OciStore, id: string, l: OciLog): Promise<number> {
  const rec = store.get(id);
  const status = liveStatus(rec);
  if (status !== "created") throw new SysError({ message: `cannot start a container that has ${status === "stopped" ? "stopped" : `status ${status}`}` });
  const reply = await new Promise<string>((resolve, reject) => {
    let text = "";
    process.chdir(store.dir(id)); // a relative path, as the supervisor bound it (supervise.ts)
    try {
      Bun.connect({
        unix: "start.sock",
        socket: {
          open: (s) => void s.write("start\n"),
          data: (_s, d) => void (text += String(d)),
          close: () => resolve(text),
          error: (_s, e) => reject(e),
          connectError: (_s, e) => reject(e),
        },
      }).catch(reject);
    } finally {
      process.chdir("/");
    }
  });
  if (reply.startsWith("ok")) return 0;
  l.error(reply.replace(/^error /, "").trim() || "the container's supervisor gave no answer");
  return EXIT_FAIL;
}

const EXEC_FLAGS = { process: "process", p: "process", "pid-file": "pid-file", cwd: "cwd", env: "env", e: "env", "console-socket": "console-socket", user: "user", u: "user", cap: "cap", c: "cap", "process-label": "process-label", apparmor: "apparmor", "preserve-fds": "preserve-fds", cgroup: "cgroup" };
const EXEC_BOOLS = { detach: "detach", d: "detach", tty: "tty", t: "tty", "no-new-privs": "no-new-privs", "ignore-paused": "ignore-paused" };

/** `exec [--process FILE | ARGS] [--detach] [--pid-file F] [--tty] [--console-socket SOCK] [--cwd DIR] [--env K=V] ID [ARGS]` (exec.ts). */
async function exec(store: OciStore, argv: readonly string[]): Promise<number> {
  // The command's own arguments follow the id: only the flags before it are runc's.
  const at = argv.findIndex((a, i) => !a.startsWith("-") && !(i > 0 && isValueFlag(argv[i - 1]!) && !argv[i - 1]!.includes("=")));
  const own = at < 0 ? argv : argv.slice(0, at + 1);
  const p = parseFlags(own, EXEC_FLAGS, EXEC_BOOLS);
  const envs = own.flatMap((a, i) => (a === "--env" || a === "-e" ? [own[i + 1] ?? ""] : a.startsWith("--env=") ? [a.slice(6)] : []));
  for (const f of ["user", "cap", "process-label", "apparmor", "cgroup"]) if (p.flags.has(f)) throw new SysError({ message: `exec --${f} is not supported yet${f === "user" || f === "cap" ? ": give the process's user and capabilities in --process" : ""}` });
  if (p.flags.has("no-new-privs")) throw new SysError({ message: "exec --no-new-privs is not supported yet: give noNewPrivileges in --process" });
  const keep = p.flags.get("preserve-fds");
  if (keep !== undefined && keep !== "0") throw new SysError({ message: "exec --preserve-fds is not supported yet: the process gets its standard streams only" });
  const id = p.args[0];
  if (id === undefined) throw new SysError({ message: `"exec" requires a container id`, hint: "usage: ctr exec [--process FILE] <container-id> [command args...]" });
  const rec = store.get(id);
  // runc's words (--ignore-paused: exec as into a running container).
  if (liveStatus(rec) === "paused" && !p.flags.has("ignore-paused")) throw new SysError({ message: "cannot exec in a paused container (use --ignore-paused to override)" });
  const file = p.flags.get("process");
  const { ociExec } = await import("./exec.ts");
  return ociExec(rec, {
    process: typeof file === "string" ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : null,
    args: at < 0 ? [] : argv.slice(at + 1),
    ...(typeof p.flags.get("cwd") === "string" ? { cwd: p.flags.get("cwd") as string } : {}),
    env: envs,
    detach: p.flags.has("detach"),
    tty: p.flags.has("tty"),
    ...(typeof p.flags.get("pid-file") === "string" ? { pidFile: path.resolve(p.flags.get("pid-file") as string) } : {}),
    ...(typeof p.flags.get("console-socket") === "string" ? { consoleSocket: path.resolve(p.flags.get("console-socket") as string) } : {}),
  });
}

function isValueFlag(a: string): boolean {
  return Object.hasOwn(EXEC_FLAGS, a.replace(/^--?/, "").split("=")[0]!);
}

const SIGNALS = Object.keys(constants.signals);

/** A signal as runc takes it: KILL, SIGKILL or 9. */
function signalOf(text: string): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) return Number(text);
  const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  if (!SIGNALS.includes(name)) throw new SysError({ message: `unknown signal ${JSON.stringify(text)}` });
  return name as NodeJS.Signals;
}

/** The host pids of the container's processes: those in PID 1's PID namespace, when it has its own. */
function containerPids(pid1: number, what: string): number[] {
  const ns = (p: number | string) => {
    try {
      return readlinkSync(`/proc/${p}/ns/pid`);
    } catch {
      return null;
    }
  };
  const own = ns(pid1);
  if (own === null || own === ns("self")) throw new SysError({ message: `${what} is not supported yet for a container without its own PID namespace` });
  // A PID namespace joined by path (translate.ts) holds other processes than the container's: PID 1 is not its init there.
  let nspid: string | undefined;
  try {
    nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid1}/status`, "utf8"))?.[1]?.trim().split(/\s+/).at(-1);
  } catch {
    // gone meanwhile: the list below is empty
  }
  if (nspid !== undefined && nspid !== "1") throw new SysError({ message: `${what} is not supported yet for a container in a PID namespace joined by path` });
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e) && ns(e) === own)
    .map(Number)
    .sort((a, b) => a - b);
}

/** `ps [--format table|json] ID`: the container's processes (json: their host pids, as containerd reads them). */
function ps(store: OciStore, p: Parsed): number {
  const rec = store.get(oneId(p, "ps"));
  const status = liveStatus(rec);
  if (status !== "created" && status !== "running" && status !== "paused") throw new SysError({ message: "container not running" });
  const pids = containerPids(rec.pid1!.pid, "ps");
  const format = p.flags.get("format") ?? "table";
  if (format === "json") {
    writeAll(1, JSON.stringify(pids) + "\n");
    return 0;
  }
  if (format !== "table") throw new SysError({ message: `invalid format option ${JSON.stringify(format)}` });
  const cmd = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    } catch {
      return "";
    }
  };
  writeAll(1, ["PID\tCMD", ...pids.map((pid) => `${pid}\t${cmd(pid)}`)].join("\n") + "\n");
  return 0;
}

/** `kill [--all] ID [SIGNAL]` (SIGTERM by default, as runc). */
function kill(store: OciStore, p: Parsed): number {
  if (p.args.length < 1 || p.args.length > 2) throw new SysError({ message: `"kill" requires 1 or 2 arguments`, hint: "usage: ctr kill [--all] <container-id> [signal]" });
  const rec = store.get(p.args[0]!);
  const sig = signalOf(p.args[1] ?? "SIGTERM");
  const status = liveStatus(rec);
  if (status !== "created" && status !== "running" && status !== "paused") throw new SysError({ message: "container not running" });
  const pid = rec.pid1!.pid;
  if (p.flags.has("all")) {
    for (const e of containerPids(pid, "kill --all")) {
      try {
        process.kill(e, sig);
      } catch {
        // gone meanwhile
      }
    }
  } else process.kill(pid, sig);
  // A v1-frozen task gets even SIGKILL only once thawed: the container is let go after the signal, so that it dies now.
  if (status === "paused" && (sig === "SIGKILL" || sig === 9)) thawContainer(rec);
  return 0;
}

/** Thaw a paused container's freezer cgroup (kill and delete of a paused container). */
function thawContainer(rec: OciRecord): void {
  const dir = containerFreezer(rec);
  try {
    if (dir) thaw(realFs, dir);
  } catch {
    // the cgroup went with the container's last process
  }
}

/** `pause ID`: every process of the container frozen (runtime/features/cgroup/freezer.ts); returns once they all are. */
async function pause(store: OciStore, id: string): Promise<number> {
  const rec = store.get(id);
  const status = liveStatus(rec);
  if (status === "paused") throw new SysError({ message: "container already paused" });
  if (status !== "running" && status !== "created") throw new SysError({ message: "container not running" });
  const dir = containerFreezer(rec);
  if (!dir) throw new SysError({ message: "pause is not supported yet for this container: it has no freezer cgroup of its own" });
  const done = await freeze(realFs, dir, { now: () => performance.now(), sleep: (ms) => Bun.sleep(ms) });
  if (!done) throw new SysError({ message: `cannot pause container ${id}: its processes did not all stop within 10 s (thawed again)` });
  return 0;
}

/** `update [--resources FILE|-] [--memory N] ... ID`: the container's cgroup limits changed (update.ts). */
async function update(store: OciStore, p: Parsed): Promise<number> {
  const id = oneId(p, "update");
  const rec = store.get(id);
  const { applyLimits, limitsOf, wanted } = await import("./update.ts");
  const limits = limitsOf(wanted(p.flags, () => readFileSync(0, "utf8")));
  if (limits.length === 0) throw new SysError({ message: "update: nothing to change", hint: "give --resources FILE or a flag such as --memory, --pids-limit, --cpu-quota" });
  applyLimits(rec, limits);
  return 0;
}

/** `resume ID`: a paused container's processes let go. */
function resume(store: OciStore, id: string): number {
  const rec = store.get(id);
  if (liveStatus(rec) !== "paused") throw new SysError({ message: "container not paused" });
  const dir = containerFreezer(rec);
  if (!dir) throw new SysError({ message: "container not paused" });
  thaw(realFs, dir);
  return 0;
}

/** `delete [--force] ID`: a stopped or created container's record; with --force a running one is killed first; the teardown is waited for. */
async function remove(store: OciStore, p: Parsed, l: OciLog): Promise<number> {
  const id = oneId(p, "delete");
  const rec = store.read(id);
  const force = p.flags.has("force");
  if (!rec) {
    if (force && !existsSync(store.dir(id))) return 0; // as runc: nothing to delete is not an error with --force
    if (!existsSync(store.dir(id))) throw new SysError({ message: "container does not exist" });
    store.remove(id); // a directory create left without a record (it was killed at once)
    return 0;
  }
  const status = liveStatus(rec);
  if (status !== "stopped") {
    // As runc: a created container (its command not started) is deleted without --force; a running one needs it.
    if (!force && status !== "created") throw new SysError({ message: `cannot delete container ${id} that is not stopped: ${status}` });
    try {
      if (status === "creating") process.kill(rec.supervisor!.pid, "SIGTERM");
      else process.kill(rec.pid1!.pid, "SIGKILL");
    } catch {
      // ended meanwhile
    }
    if (status === "paused") thawContainer(rec); // the SIGKILL is delivered once thawed (v1)
  }
  // The supervisor tears the container down (cgroups, mounts, ctr's state directory) as it ends.
  const deadline = Date.now() + 10_000;
  while (rec.supervisor && running(rec.supervisor) && Date.now() < deadline) {
    await Bun.sleep(10);
    const now = store.read(id);
    if (now && now.supervisor === null) break;
  }
  // A supervisor killed outright (SIGKILL) left ctr's per-container directory
  // (stage 1 ended PID 1 and removed the cgroups): removed here, through
  // statedir's checked removal. A zombie counts as gone: its parent (the
  // client, a subreaper) may not have reaped it yet.
  if (rec.supervisor && !running(rec.supervisor)) {
    const { removeStateDir } = await import("../../statedir.ts");
    removeStateDir(`${stateRoot()}/${rec.cid}`);
  }
  // PID 1 let go at create (supervise.ts): no ctr process is left to tear the container down, the record says what to remove.
  const held = (store.read(id) ?? rec).held;
  if (held) {
    const { removeHeld } = await import("./teardown.ts");
    const problems = await removeHeld(held);
    // The record stays, so that a second `delete` can try again.
    if (problems.length > 0) throw new SysError({ message: `cannot delete container ${id} in full: ${problems.join("; ")}` });
  }
  // poststop: after the container is deleted, before delete returns (hooks.ts).
  const { runPoststop } = await import("./hooks.ts");
  await runPoststop(store.read(id) ?? rec, (text) => l.line("warning", text));
  store.remove(id);
  return 0;
}

/** `run [--bundle DIR] [--pid-file F] [--detach] ID`: create and start; without --detach this ctr is the supervisor, and the record goes with the container. */
async function run(store: OciStore, argv: readonly string[], log: LogOptions, l: OciLog): Promise<number> {
  const p = parseFlags(argv, CREATE_FLAGS, CREATE_BOOLS);
  const id = oneId(p, "run");
  refuseFlags(p);
  if (p.flags.has("detach")) {
    const created = await create(store, argv.filter((a) => a !== "-d" && a !== "--detach" && a !== "-detach"), log, l);
    return created !== 0 ? created : start(store, id, l);
  }
  const bundle = path.resolve(typeof p.flags.get("bundle") === "string" ? (p.flags.get("bundle") as string) : ".");
  store.reserve(id);
  try {
    const { supervise } = await import("./supervise.ts");
    const status = await supervise({ store, id, bundle, log: l, startAtOnce: true, created: (pid) => writePidFile(p, pid), ...consoleOf(p) });
    if (status !== 0 && existsSync(`${store.dir(id)}/error`)) l.error(readFileSync(`${store.dir(id)}/error`, "utf8").trimEnd());
    return status;
  } finally {
    if (!p.flags.has("keep")) {
      const rec = store.read(id);
      if (rec) await (await import("./hooks.ts")).runPoststop(rec, (text) => l.line("warning", text));
      store.remove(id);
    }
  }
}

function list(store: OciStore, p: Parsed): number {
  let ids: string[] = [];
  try {
    ids = readdirSync(store.root).filter((d) => existsSync(`${store.root}/${d}/state.json`));
  } catch {
    // no root yet: nothing to list
  }
  const states = ids.map((id) => store.read(id)).filter((r) => r !== null).map((r) => specState(r!));
  if (p.flags.has("quiet")) writeAll(1, states.map((s) => `${s.id}\n`).join(""));
  else if (p.flags.get("format") === "json") writeAll(1, JSON.stringify(states) + "\n");
  else writeAll(1, ["ID\tPID\tSTATUS\tBUNDLE\tCREATED", ...states.map((s) => `${s.id}\t${s.pid}\t${s.status}\t${s.bundle}\t${s.created}`)].join("\n") + "\n");
  return 0;
}

/** The runtime spec's features document (features.md): what the translation honours (translate.ts). */
export async function features(): Promise<Record<string, unknown>> {
  const [{ CAPABILITIES }, { NAMESPACE_NAMES }, { SCMP_CMP }, { HOOK_KINDS }] = await Promise.all([import("../process/statements.ts"), import("./translate.ts"), import("../../../native/seccomp.ts"), import("./hooks.ts")]);
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: ["ro", "rw", "nosuid", "nodev", "noexec", "rbind", "private", "rprivate"],
    linux: {
      namespaces: Object.keys(NAMESPACE_NAMES).filter((n) => n !== "time"),
      capabilities: CAPABILITIES.map((c) => `CAP_${c.toUpperCase()}`),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      // What the profile reader takes (runtime/features/security/profile.ts); the notify listener is refused.
      seccomp: {
        enabled: true,
        actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG"],
        operators: Object.keys(SCMP_CMP),
        archs: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "io.github.ctr.note": "fields ctr does not honour are refused by name, never ignored" },
  };
}

/** `spec [--bundle DIR]`: a config.json ctr runs as it is (runc's default, less what ctr refuses: a terminal, the cgroup mount). */
function spec(p: Parsed): number {
  if (p.flags.has("rootless")) throw new SysError({ message: "spec --rootless is not supported yet" });
  const dir = typeof p.flags.get("bundle") === "string" ? (p.flags.get("bundle") as string) : ".";
  const file = path.join(dir, "config.json");
  if (existsSync(file)) throw new SysError({ message: `File ${file} exists. Remove it first` });
  const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  const cfg = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "ctr",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  writeFileSync(file, JSON.stringify(cfg, null, "\t") + "\n");
  return 0;
}
