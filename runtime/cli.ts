// The ctr command line. With the REPL, the only code that prints.
//
// Exit codes follow `docker run`: 2 script or usage error, 125 the container
// could not be set up, 126 command not executable, 127 command not found,
// otherwise the command's own status (128+N when killed by signal N).

// Start-up latency is a headline figure: this file imports only what every
// command needs. The front end (chevrotain), the runtime and the rootfs builder
// are imported when a command needs them, and a run starts stage 1 before the
// front end is even loaded, so that Bun's start-up of the stage overlaps it.

import { existsSync, lstatSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { MAX_SCRIPT_BYTES, ScriptFileError, readScriptFile } from "../lang/read.ts";
import { formatSize } from "../lang/values.ts";
import type { Diagnostic } from "../lang/spec.ts";
import { SysError } from "../native/error.ts";
import type { PlanResult } from "./plan.ts";
import { SIDE_NAME, type Plan } from "./ops.ts";
import { newContainerId, stateRoot } from "./paths.ts";
import { WriteError, writeAll } from "./fdio.ts";
import { EXIT_SETUP, Output, runPlanned, sayPowerNote, sendPlanEarly, writeFailed } from "./cli-run.ts";
import { knownNewestSource, markBuildCurrent, packageRoot, stdlibDir } from "./bundle.ts";
import type { Launch } from "./host.ts";
import type { NamedRun } from "./features/lifecycle/supervise.ts";

const VERSION = (): string => JSON.parse(readFileSync(`${packageRoot()}/package.json`, "utf8")).version;

export const EXIT_USAGE = 2;
export { EXIT_SETUP };

const HELP = `ctr — build Linux containers by hand, one kernel primitive per statement

usage:
  ctr [repl] [-q]             open the REPL: build a container one statement at a time
  ctr FILE.ctr [ARGS...]      run a script (ARGS are \${1}, \${2}, ... and \${args})
  ctr -e 'SCRIPT' [ARGS...]   run an inline script; statements separated by ; or newlines
  ctr check FILE.ctr          report problems without running anything (exit 0 clean, 2 otherwise)
  ctr explain FILE.ctr        print every operation, which side performs it, and its syscalls
  ctr rootfs host DIR [BIN...]  build a root filesystem from the host's binaries
  ctr rootfs busybox DIR      build a root filesystem from a static busybox
  ctr rootfs default          build (if needed) and print the embedded default rootfs
  ctr [--name NAME] [-d] FILE.ctr|-e SCRIPT [ARGS...]
                              a named container; -d: in the background (its name on stdout)
  ctr ps [-a] [--format json] list named containers (-a: stopped ones too)
  ctr exec [-i] [-t] [-e K=V] [-w DIR] NAME CMD [ARGS...]
                              run CMD inside the running container NAME (-t: on a new terminal)
  ctr logs [-f] NAME          a detached container's output
  ctr stop [-t SECONDS] NAME  SIGTERM to its PID 1, SIGKILL after SECONDS (10)
  ctr kill NAME [SIGNAL]      signal its PID 1 (SIGKILL)
  ctr rm [-f] NAME            remove a stopped container (-f: a running one too)
  ctr inspect NAME            its state, as JSON
  ctr image import FILE [NAME[:TAG]]  import a docker-archive or OCI archive (podman/docker save)
  ctr image ls | rm NAME... | inspect NAME   the images in the store
  ctr volume ls | rm NAME... | prune          the volumes in the store (prune: the anonymous ones)
  ctr compile [-o DIR] FILE.ctr [ARGS...]
                              the script as an OCI bundle (DIR/config.json) for runc, crun or ctr
  ctr check|explain BUNDLE    an OCI bundle (a directory with config.json), checked or explained as a script
  ctr [--root DIR] [--log FILE] [--log-format text|json] create|start|state|kill|delete|run|ps|list|features|spec ...
                              ctr as an OCI runtime, with runc's command line (podman --runtime, containerd)
  ctr --help | --version

options:
  --trace                     print every syscall of the container's setup as it is made

exit status: the command's own; 128+N if it was killed by signal N; 2 script or
usage error; 125 the container could not be set up; 126 command not executable;
127 command not found.
`;

interface Source {
  file: string;
  text: string;
}

function usage(message: string): number {
  writeAll(2, `ctr: ${message}\nrun \`ctr --help\` for usage\n`);
  return EXIT_USAGE;
}

const ERRNO_WORDS: Record<string, string> = { ENOENT: "no such file", EACCES: "permission denied", ELOOP: "too many symbolic links", ENOTDIR: "a component of the path is not a directory" };

/** A script file's text: a regular file, at most MAX_SCRIPT_BYTES (lang/read.ts). */
function readScript(file: string): Source | null {
  try {
    return { file, text: readScriptFile(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    const why = e instanceof ScriptFileError ? e.message : (ERRNO_WORDS[code] ?? (code || String(e)));
    writeAll(2, `ctr: cannot read "${file}": ${why}\n`);
    if (e instanceof ScriptFileError && e.code !== "EISDIR") writeAll(2, `help: a script is a regular file of at most ${formatSize(MAX_SCRIPT_BYTES)}\n`);
    return null;
  }
}

/**
 * Compiles and plans a script, printing its diagnostics. `checkOnly` (`ctr check`):
 * the planner's diagnostics without the plan (runtime/plan.ts planDiagnostics), and
 * an empty plan in the result.
 */
async function frontEnd(src: Source, args: string[], out: Output, id = "ID", checkOnly = false): Promise<{ result: PlanResult; ok: boolean; warnings: boolean; statements: number; hostPaths: number; commands: import("../lang/spec.ts").Command[] }> {
  out.addSource(src.file, src.text);
  const [{ compile }, { statements, findStatement }, { makePlan, planDiagnostics }, { defaultCacheDir }, { hostView }] = await Promise.all([
    import("../lang/index.ts"),
    import("./registry.ts"),
    import("./plan.ts"),
    import("./features/rootfs/cache.ts"),
    import("./hostview.ts"),
  ]);
  const host = hostView(undefined, true);
  const fe = compile(src.text, { file: src.file, args, env: process.env, specs: statements, cpus: cpus().length, stdlibDir: stdlibDir(), host });
  for (const [file, text] of fe.sources) out.addSource(file, text);
  // Commands with errors are not planned: a plan function may rely on what
  // the checker rejected (`limit cpux` has no limit to plan).
  const feOk = !fe.diagnostics.some((d) => d.severity === "error");
  const base = { stateDir: `${stateRoot()}/${id}`, defaultRootfs: `${defaultCacheDir()}/rootfs`, readHost: readSmallFile };
  const empty = (diagnostics: Diagnostic[]): PlanResult => ({ plan: { namespaces: [], ops: [], needsDefaultRootfs: false }, diagnostics });
  let result: PlanResult;
  if (!feOk) result = empty([]);
  else if (checkOnly) {
    // The ops the teaching note reads, without the rest of the plan.
    const sketch = empty([]).plan;
    result = { plan: sketch, diagnostics: planDiagnostics(fe.commands, findStatement, base, sketch) };
  } else result = makePlan(fe.commands, findStatement, base);
  const diagnostics = [...fe.diagnostics, ...result.diagnostics];
  out.diagnostics(diagnostics);
  return { result, ok: !diagnostics.some((d) => d.severity === "error"), warnings: diagnostics.length > 0, statements: fe.commands.length, hostPaths: host.looked, commands: fe.commands };
}

/**
 * A host file's text for the planner's checks (a root's /etc/passwd): null when it is
 * not there; undefined when it cannot be told now (a symlink, which resolves inside
 * the container, not here; not a regular file; over 1 MiB), and the check is left to PID 1.
 */
function readSmallFile(path: string): string | null | undefined {
  try {
    if (lstatSync(path.slice(0, path.lastIndexOf("/"))).isSymbolicLink()) return undefined;
    const st = lstatSync(path);
    return st.isFile() && st.size <= 1 << 20 ? readFileSync(path, "utf8") : undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? null : undefined;
  }
}

/** `bundle`: the ops' spans name config.json by JSON pointer (runtime/features/oci/translate.ts), written as they are. */
/** `cached`: a run of this script keeps its plan in the plan cache (runtime/plancache.ts, planKey), so that a repeated run may take the direct start. */
async function explain(result: PlanResult, file: string, bundle = false, cached = false): Promise<string> {
  const [{ explainOps }, { directEligible }] = await Promise.all([import("./explain.ts"), import("./features/ns/direct.ts")]);
  const derived = explainOps(result.plan.ops);
  // A repeated run of this plan takes the direct start (docs/ARCHITECTURE.md, "The direct start").
  const direct = cached && directEligible(result.plan);
  const mnt = result.plan.namespaces.includes("mnt");
  const lines: string[] = [];
  result.plan.ops.forEach((op, i) => {
    lines.push(`${bundle ? op.span.file : `${file}:${op.span.line}:${op.span.column}`}  ${op.source}    [${SIDE_NAME[op.side]}]`);
    for (const e of derived[i]!) lines.push(`    ${e}`);
    if (direct && op.kind === "unshare") lines.push(`    # a repeated run (its plan cached; no --trace, no --name) has no stage 1: ctr's own thread makes ${mnt ? "these namespaces but the mount one" : "them"} and spawns PID 1${mnt ? ", which unshares CLONE_NEWNS and makes / private itself" : ""} (the direct start)`);
  });
  return lines.join("\n") + "\n";
}

/** What `ctr check` says of a script that passed: that it looked at the host too, when it did. */
export function checkSummary(file: string, statements: number, hostPaths: number): string {
  const looked = hostPaths > 0 ? `; ${hostPaths} host path${hostPaths === 1 ? "" : "s"} checked on this machine` : "";
  return `${file}: ok, ${statements} statement${statements === 1 ? "" : "s"}${looked}\n`;
}

async function runScript(src: Source, args: string[], trace: boolean, early: ReturnType<typeof Bun.spawn> | null, named: NamedRun | null = null): Promise<number> {
  const out = new Output();
  out.addSource(src.file, src.text);
  // Start stage 1 before the front end is loaded: Bun's start-up of the stage overlaps it.
  const [{ Launch }, { codeStamp }, cache] = await Promise.all([import("./host.ts"), import("./bundle.ts"), import("./plancache.ts")]);
  const launching = early ? Promise.resolve(Launch.adopt(early)) : Launch.start();
  launching.catch(() => {});
  let id = newContainerId();
  const unsafe = cache.cacheProblem();
  if (unsafe) writeAll(2, `ctr: not using the plan cache "${cache.cacheDir()}": ${unsafe}\n`);
  const key = unsafe ? null : cache.planKey(src.file, src.text, args, codeStamp(), VERSION());
  let plan = key ? cache.loadPlan(key, id) : null;
  if (!plan) {
    const { result, ok, warnings } = await frontEnd(src, args, out, cache.placeholderId());
    if (!ok) {
      await launching.then((l) => l.cancel(), () => {});
      return EXIT_USAGE;
    }
    if (key && !warnings) cache.storePlan(key, result.plan);
    plan = JSON.parse(JSON.stringify(result.plan).replaceAll(cache.placeholderId(), id)) as Plan;
  }
  sayPowerNote(plan);
  let launch: Launch;
  try {
    launch = await launching;
  } catch (e) {
    out.error(e); // e.g. bundles this user cannot build
    return EXIT_SETUP;
  }
  // A `join` is resolved (the container found, its PID 1 checked) before stage 1 gets its plan.
  // A detached container with `ns pid` is the shared monitor's child once stage 1 is let go (runtime/features/lifecycle/adopt.ts).
  const adopt = named ? await import("./features/lifecycle/adopt.ts") : null;
  const adoption = named && adopt?.adoptable(named, plan) ? new adopt.Adoption() : null;
  if (adoption) {
    // Named after the monitor, which removes what it leaves (adopt.ts adoptedId): before anything is made.
    const mine = adopt!.adoptedId(id);
    plan = JSON.parse(JSON.stringify(plan).replaceAll(id, mine)) as Plan;
    id = mine;
  }
  const release = adoption ? ("adopt" as const) : false;
  const tracking = await sendPlanEarly(plan, launch, id, trace, release);
  // A named container keeps a record (runtime/features/lifecycle/supervise.ts): this ctr is its supervisor.
  let supervision: import("./features/lifecycle/supervise.ts").Supervision | null = null;
  if (named) {
    try {
      supervision = (await import("./features/lifecycle/supervise.ts")).Supervision.begin(named, src.file, id, plan);
    } catch (e) {
      await launch.cancel().catch(() => {});
      if (tracking) (await import("node:fs")).rmdirSync(tracking.dir);
      out.error(e);
      return e instanceof SysError && e.status !== undefined ? e.status : EXIT_SETUP;
    }
  }
  const status = await runPlanned(id, plan, launch, tracking, out, trace, {
    ...(supervision ? { started: (pid1: number) => supervision.started(pid1) } : {}),
    ...(adoption ? adoption.io : {}),
  }, release ? { release } : {});
  // Adopted: execute returned once the command ran; the monitor takes it, and this process ends.
  const end = adoption?.running && named ? await adoption.handOver(named.name, (text) => writeAll(2, `ctr: ${text}\n`)) : status;
  if (end === null) {
    supervision?.handedOver();
    return 0;
  }
  supervision?.finished(end);
  return end;
}

async function rootfsCommand(args: string[]): Promise<number> {
  const build = { ...(await import("./features/rootfs/build.ts")), ...(await import("./features/rootfs/cache.ts")) };
  const [kind, dir, ...bins] = args;
  try {
    if (kind === "default") {
      writeAll(1, build.defaultRootfs() + "\n");
      return 0;
    }
    if (!dir) return usage(`rootfs ${kind ?? ""}: missing DIR`);
    if (kind === "host") {
      build.buildHostRootfs(dir, bins.length > 0 ? bins : build.selectDefaultBinaries().binaries);
      return 0;
    }
    if (kind === "busybox") {
      build.buildBusyboxRootfs(dir);
      return 0;
    }
    return usage(`unknown rootfs kind \`${kind ?? ""}\` (host, busybox or default)`);
  } catch (e) {
    new Output().error(e);
    return EXIT_SETUP;
  }
}

/** `ctr image ...` and `ctr volume ...`: print what the command returns, or its error. */
async function storeCommand(run: () => Promise<string>): Promise<number> {
  try {
    writeAll(1, await run());
    return 0;
  } catch (e) {
    if (e instanceof WriteError) throw e;
    new Output().error(e);
    return e instanceof SysError && e.syscall === "image" && e.code === "EINVAL" ? EXIT_USAGE : EXIT_SETUP;
  }
}

export { writeFailed };

/**
 * Runs the command line; `early` is a stage 1 runtime/main.ts started before loading this file
 * (a direct start never comes here: runtime/direct-run.ts drives it), `newestSource` the
 * sources' time it found (runtime/bundle.ts).
 */
export async function main(argv: string[], early: ReturnType<typeof Bun.spawn> | null = null, newestSource = 0): Promise<number> {
  knownNewestSource(newestSource);
  if (early) markBuildCurrent(); // a run: what main.ts tries first next time (runtime/sources.ts)
  try {
    return await command(argv, early);
  } catch (e) {
    if (e instanceof WriteError) return writeFailed(e);
    throw e;
  }
}

async function command(argv: string[], early: ReturnType<typeof Bun.spawn> | null): Promise<number> {
  let trace = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (rest.length === 0 && a === "--trace") trace = true;
    else rest.push(a);
  }
  // ctr as an OCI runtime (runc's command line): runtime/features/oci/commands.ts says how it is recognised.
  if ((await import("./features/oci/recognise.ts")).isOciInvocation(rest)) return (await import("./features/oci/commands.ts")).ociMain(rest, early);
  // A named or detached container (runtime/features/lifecycle/): options before the script.
  let named: NamedRun | null = null;
  let detach = false;
  while (rest[0] === "--name" || rest[0] === "-d" || rest[0] === "--detach" || rest[0] === "--supervise") {
    const opt = rest.shift()!;
    if (opt === "-d" || opt === "--detach") detach = true;
    else {
      const name = rest.shift();
      if (name === undefined) return usage(`${opt} needs a NAME`);
      named = { name, detached: opt === "--supervise" };
    }
  }
  if (named || detach) return namedRun(named, detach, rest, trace, early);
  const [first, ...more] = rest;
  switch (first) {
    case undefined:
    case "repl":
      return (await import("./repl.ts")).repl({ trace, args: more });
    case "--help":
    case "-h":
    case "help":
      writeAll(1, HELP);
      return 0;
    case "--version":
    case "-V":
      writeAll(1, `ctr ${VERSION()}\n`);
      return 0;
    case "-e": {
      const [text, ...args] = more;
      if (text === undefined) return usage("-e needs a script");
      return runScript({ file: "-e", text }, args, trace, early);
    }
    case "check":
    case "explain": {
      const [file, ...args] = more;
      if (!file) return usage(`${first}: missing FILE`);
      const oci = await import("./features/oci/config.ts");
      if (oci.isBundle(file)) return bundleCheck(first, file, new Output());
      const src = file === "-e" ? { file: "-e", text: args.shift() ?? "" } : readScript(file);
      if (!src) return EXIT_USAGE;
      const out = new Output();
      const { result, ok, statements, hostPaths } = await frontEnd(src, args, out, "ID", first === "check");
      if (!ok) return EXIT_USAGE;
      if (first === "explain") writeAll(1, await explain(result, src.file, false, (await import("./plancache.ts")).planKey(src.file, src.text, args, "", "") !== null));
      else {
        writeAll(1, checkSummary(src.file, statements, hostPaths));
        sayPowerNote(result.plan);
      }
      return 0;
    }
    case "compile":
      return compileCommand(more);
    case "rootfs":
      return rootfsCommand(more);
    case "ps":
    case "exec":
    case "logs":
    case "stop":
    case "kill":
    case "rm":
    case "inspect":
      return lifecycleCommand(first, more);
    case "image":
      return storeCommand(() => import("./features/image/commands.ts").then((m) => m.imageCommand(more)));
    case "volume":
      return storeCommand(() => import("./features/image/volume.ts").then((m) => m.volumeCommand(more)));
    default: {
      if (first.startsWith("-")) return usage(`unknown option \`${first}\``);
      // `ctr run x.ctr`: a word that is no file and looks like no script is a mistaken command.
      if (!/[/.]/.test(first) && !existsSync(first)) return usage(`\`${first}\` is not a command, nor a script file\ncommands: repl, check, explain, rootfs, -e, compile, image, volume, --help, --version, ps, exec, logs, stop, kill, rm, inspect; a script runs as \`ctr FILE.ctr\``);
      const src = readScript(first);
      if (!src) return EXIT_USAGE;
      return runScript(src, more, trace, early);
    }
  }
}


/** `ctr check|explain BUNDLE`: an OCI bundle's config.json, translated and planned as a script (runtime/features/oci/config.ts). */
async function bundleCheck(what: "check" | "explain", arg: string, out: Output): Promise<number> {
  const [{ compileBundle, hostFacts }, { defaultCacheDir }, { hostView }] = await Promise.all([import("./features/oci/config.ts"), import("./features/rootfs/cache.ts"), import("./hostview.ts")]);
  const host = hostView();
  let b;
  try {
    b = compileBundle(arg, { stateDir: `${stateRoot()}/ID`, defaultRootfs: `${defaultCacheDir()}/rootfs`, cpus: cpus().length, host, facts: hostFacts() });
  } catch (e) {
    out.error(e);
    return EXIT_USAGE;
  }
  for (const [file, text] of b.sources) out.addSource(file, text);
  out.diagnostics(b.diagnostics);
  if (!b.ok) return EXIT_USAGE;
  if (what === "explain") writeAll(1, await explain(b.result, b.file, true));
  else writeAll(1, checkSummary(b.file, b.commands.length, host.looked));
  return 0;
}

/**
 * `ctr compile [-o DIR] FILE.ctr [ARGS...]` (runtime/features/oci/compile.ts): checked and
 * planned as `ctr check` does, mapped to config.json, translated and planned back and
 * compared op by op with the script's plan; only then written (DIR: FILE without .ctr, .bundle).
 */
async function compileCommand(argv: string[]): Promise<number> {
  const args = [...argv];
  let dir: string | undefined;
  if (args[0] === "-o") {
    args.shift();
    dir = args.shift();
    if (dir === undefined) return usage("compile: -o needs a DIR");
  }
  const file = args.shift();
  if (!file) return usage("compile: missing FILE.ctr");
  if (args[0] === "-o" && dir === undefined) {
    args.shift();
    dir = args.shift();
    if (dir === undefined) return usage("compile: -o needs a DIR");
  }
  dir ??= `${file.replace(/^.*\//, "").replace(/\.ctr$/, "")}.bundle`;
  const src = readScript(file);
  if (!src) return EXIT_USAGE;
  const out = new Output();
  const { result, ok, commands } = await frontEnd(src, args, out);
  if (!ok) return EXIT_USAGE;
  const [c, { compileBundle, hostFacts }, { defaultCacheDir }, { hostView }, { explainOps }] = await Promise.all([
    import("./features/oci/compile.ts"),
    import("./features/oci/config.ts"),
    import("./features/rootfs/cache.ts"),
    import("./hostview.ts"),
    import("./explain.ts"),
  ]);
  const compiled = c.compileConfig(commands, process.cwd());
  if (!compiled.text) {
    out.diagnostics(compiled.diagnostics);
    return EXIT_USAGE;
  }
  // The round trip, before anything is written: the config as `ctr explain DIR` will read it.
  const target = (await import("node:path")).resolve(dir);
  const back = compileBundle(target, { stateDir: `${stateRoot()}/ID`, defaultRootfs: `${defaultCacheDir()}/rootfs`, cpus: cpus().length, host: hostView(), facts: hostFacts() }, compiled.text);
  const side = (op: import("./ops.ts").Op) => SIDE_NAME[op.side];
  const mine = c.opViews(result.plan.ops, explainOps(result.plan.ops), side);
  const theirs = back.ok ? c.opViews(back.result.plan.ops, explainOps(back.result.plan.ops), side) : [];
  const at = back.ok ? c.firstDifference(mine, theirs, commands.some((cmd) => cmd.name === "cwd")) : 0;
  if (at >= 0) {
    const op = result.plan.ops[at];
    const why = back.ok ? (op ? `its \`${mine[at]!.lines[0]}\` operation comes out of config.json otherwise` : "config.json makes an operation the script has not") : back.diagnostics.map((d) => d.message).join("; ");
    const d = { severity: "error" as const, span: op?.span ?? commands[commands.length - 1]!.span, message: `compile cannot express this script faithfully: ${why}`, help: !back.ok ? "config.json would hold what ctr does not read back; the script runs as it is with `ctr FILE.ctr`" : "config.json's fields come back in translate's order (ns, map, rootfs, mounts, hostname, domainname, limit, device, sysctl, the process's env, cwd, user, cap, rlimit, no_new_privs, then readonly, mask, exec): a script in that order compiles if any can; it runs as it is with `ctr FILE.ctr`" };
    out.diagnostics([d]);
    return EXIT_USAGE;
  }
  try {
    c.writeBundle(dir, compiled.text);
  } catch (e) {
    out.error(e);
    return EXIT_SETUP;
  }
  writeAll(1, `${dir}/config.json\n`);
  return 0;
}

/** ps, exec, logs, stop, kill, rm, inspect (runtime/features/lifecycle/commands.ts). */
async function lifecycleCommand(name: string, args: string[]): Promise<number> {
  const c = await import("./features/lifecycle/commands.ts");
  const table: Record<string, (args: string[]) => number | Promise<number>> = { ps: c.psCommand, exec: c.execCommand, logs: c.logsCommand, stop: c.stopCommand, kill: c.killCommand, rm: c.rmCommand, inspect: c.inspectCommand };
  return table[name]!(args);
}

/**
 * `ctr [--name NAME] [-d] FILE|-e SCRIPT [ARGS]`: a bad name or a bad script
 * is said before anything is made. Detached, this ctr only checks the script
 * and starts the container's supervisor (a ctr of its own, `--supervise NAME`);
 * otherwise this ctr is the supervisor.
 */
async function namedRun(named: NamedRun | null, detach: boolean, rest: string[], trace: boolean, early: ReturnType<typeof Bun.spawn> | null): Promise<number> {
  const cancel = async () => {
    if (!early) return;
    early.kill("SIGKILL");
    await early.exited;
  };
  const [first, ...more] = rest;
  if (first === undefined) {
    await cancel();
    return usage("a named container needs a script: FILE.ctr or -e SCRIPT");
  }
  const src = first === "-e" ? (more[0] === undefined ? null : { file: "-e", text: more.shift()! }) : readScript(first);
  if (!src) {
    await cancel();
    return first === "-e" ? usage("-e needs a script") : EXIT_USAGE;
  }
  const { checkName } = await import("./features/lifecycle/names.ts");
  if (named) {
    try {
      checkName(named.name);
    } catch (e) {
      await cancel();
      new Output().error(e);
      return EXIT_USAGE;
    }
  }
  if (!detach) return runScript(src, more, trace, early, named ?? { name: (await import("./features/lifecycle/names.ts")).generateName(), detached: false });
  await cancel();
  const out = new Output();
  const { ok } = await frontEnd(src, more, out);
  if (!ok) return EXIT_USAGE;
  const { detach: start } = await import("./features/lifecycle/commands.ts");
  return start(named?.name ?? null, src.file, first === "-e" ? ["-e", src.text, ...more] : [first, ...more], trace);
}
