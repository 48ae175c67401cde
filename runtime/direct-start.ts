// The direct start's entry (runtime/features/ns/direct.ts), which runtime/main.ts
// loads first, from its own small bundle (runtime/bundle.ts): for a script run
// whose compiled plan is in the plan cache and qualifies, PID 1 is started from
// this thread at once. A cached plan that needs stage 1 (or whose unshare here
// failed) is run through the stage 1 main.ts starts next. Either is driven to
// its end by runtime/direct-run.ts, without the CLI's bundle: the plan is known,
// there is nothing to parse. No cached plan: null, and main.ts loads the CLI.

import { readScriptFile, type FileFacts, type ScriptFileCalls } from "../lang/read.ts";
import { AT_FDCWD, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY, S_IFMT } from "../native/constants.ts";
import { fstat, openat, statx, type FileStat } from "../native/at.ts";
import { close, read } from "../native/fd.ts";
import { setns, unshare } from "../native/ns.ts";
import { packageRoot, stage2Environment } from "./bundle.ts";
import { cacheProblem, loadPlan, planKey } from "./plancache.ts";
import { newContainerId } from "./paths.ts";
import { writeAll } from "./fdio.ts";
import { directEligible, spawnDirect, StrandedError, type DirectStart } from "./features/ns/direct.ts";
import { parseManifest, unchangedStamp, type SourcesManifest } from "./sources.ts";

// Every look-up before the spawn goes through libc: this path loads no node: module (runtime/lazy-builtins.ts).
const facts = (st: FileStat): FileFacts => ({ type: st.mode & S_IFMT, size: Number(st.size) });
const LIBC_CALLS: ScriptFileCalls = {
  stat: (path) => facts(statx(AT_FDCWD, path)),
  open: (path) => openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC),
  fstat: (fd) => facts(fstat(fd)),
  read: (fd, buf, offset, length) => read(fd, buf.subarray(offset, offset + length)),
  close: (fd) => close(fd),
};

/** ctr's version, from the package.json of `root`. */
function version(root: string): string {
  return JSON.parse(readScriptFile(`${root}/package.json`, 1 << 20, LIBC_CALLS)).version as string;
}

/** The package of a build directory, ROOT/dist/<stamp>: read off its path, which is the one this run loaded it from. */
function rootOf(dir: string): string {
  const i = dir.lastIndexOf("/dist/");
  return i > 0 ? dir.slice(0, i) : packageRoot();
}

const COMMANDS = new Set(["repl", "help", "check", "explain", "compile", "rootfs", "ps", "exec", "logs", "stop", "kill", "rm", "inspect", "image", "volume"]);

/** The script and its arguments of a plain run (`ctr FILE ARGS...`, `ctr -e TEXT ARGS...`, no option), else null. */
function scriptOf(argv: readonly string[]): { file: string; text: string; args: string[] } | null {
  const [first, ...rest] = argv;
  if (first === undefined) return null;
  if (first === "-e") {
    const [text, ...args] = rest;
    return text === undefined ? null : { file: "-e", text, args };
  }
  // A word the CLI takes as a command is never a script here (runtime/cli.ts routes it first).
  if (first.startsWith("-") || COMMANDS.has(first)) return null;
  try {
    return { file: first, text: readScriptFile(first, undefined, LIBC_CALLS), args: rest };
  } catch {
    return null; // the CLI says why
  }
}

/**
 * How this run goes on without the CLI's bundle, its plan being cached, and
 * `run` returns ctr's exit status (runtime/direct-run.ts): PID 1 started
 * directly (`pid1`), or, for a plan that needs stage 1, driven through the
 * stage 1 runtime/main.ts starts next and hands to `run`. Null: the CLI runs it.
 */
export type Direct = (DirectStart & { run(stage1: Bun.Subprocess | null): Promise<number> }) | { pid1?: undefined; run(stage1: Bun.Subprocess | null): Promise<number> } | null;

/**
 * This bundle's build directory, dist/<stamp> (Bun resolves the dist/current link runtime/main.ts
 * loads it by), or "" run from the sources. The bundler writes in import.meta.dir's and __dirname's
 * values at build time; a require.resolve of a name it cannot compute is resolved at run time.
 */
const BUILD_DIR = (() => {
  try {
    const f = require.resolve("./" + ["direct-start", "js"].join("."));
    return f.slice(0, f.lastIndexOf("/"));
  } catch {
    return "";
  }
})();

/**
 * PID 1 of this run's container, started directly; or a run of its cached plan
 * through stage 1; or null. `env` is the stages' environment. Before it is
 * driven, `sourcesStamp` says whether this build is still the sources' (else `abandon`).
 */
export function startDirect(argv: readonly string[], env: Record<string, string | undefined>, dir = BUILD_DIR): Direct {
  const script = scriptOf(argv);
  // No init bundle (a build directory emptied by hand): the CLI says what is wrong.
  if (!script || cacheProblem() !== null || Bun.file(`${dir}/init.js`).size === 0) return null;
  // The key as runtime/cli.ts computes it: the code stamp is bundle.ts's buildDir() for this build.
  const root = rootOf(dir);
  const key = planKey(script.file, script.text, script.args, `${root}/dist/${dir.slice(dir.lastIndexOf("/") + 1)}`, version(root));
  const id = newContainerId();
  const plan = key ? loadPlan(key, id) : null;
  if (!plan) return null;
  // The runner's bundle next to this one, loaded only when needed. By require, as main.ts loads
  // this one: Bun's asynchronous loader would cost time (docs/ARCHITECTURE.md, "The direct start").
  const runner = () => require(`${dir}/direct-run.js`) as typeof import("./direct-run.ts");
  const staged = { run: async (stage1: Bun.Subprocess | null) => runner().runStaged(stage1!, script, id, plan) };
  // Only root may make the namespaces from this thread (no user namespace here).
  if (!directEligible(plan) || process.geteuid?.() !== 0) return staged;
  const cmd = [process.execPath, `${dir}/init.mjs`, "stage2", "direct", ...(plan.namespaces.includes("mnt") ? ["mnt"] : [])];
  try {
    const start = spawnDirect({ unshare, setns }, plan.namespaces, cmd, Object.fromEntries(stage2Environment(env, false)));
    // The runner is loaded only now: while PID 1 starts.
    return { ...start, run: async () => runner().runDirect(start, script, id, plan) };
  } catch (e) {
    if (e instanceof StrandedError) {
      // This thread may be in the container's namespaces: nothing more may run in this process.
      writeAll(2, `ctr: ${e.message}\n`);
      process.exit(125);
    }
    return staged; // e.g. EPERM: stage 1 meets the same error and reports it
  }
}

/**
 * This build's stamp if it is `root`'s (the package runtime/main.ts runs from:
 * dist/current is a link, and may lead elsewhere) and `root`'s sources are still
 * those it was made from (runtime/sources.ts: what its manifest names, looked at
 * without listing the trees); else 0, and main.ts scans them and abandons the start.
 */
export function sourcesStamp(root: string, dir = BUILD_DIR): number {
  if (!dir) return 0;
  let m: SourcesManifest | null;
  try {
    m = parseManifest(readScriptFile(`${dir}/sources.json`, 1 << 22, LIBC_CALLS));
    if (!m) return 0;
    // The same directory as root's dist/<stamp>, whatever links led here.
    const [a, b] = [statx(AT_FDCWD, dir), statx(AT_FDCWD, `${root}/dist/${m.stamp}`)];
    if (a.dev !== b.dev || a.ino !== b.ino) return 0;
  } catch {
    return 0; // a build without a manifest, or root without that build
  }
  return unchangedStamp(m, root, (p) => Bun.file(p).lastModified);
}

/** Undo a start made from a build that is not the sources' any more: its PID 1 killed and reaped (nothing else of the container exists yet). */
export async function abandon(direct: Direct): Promise<void> {
  if (!direct?.pid1) return;
  direct.pid1.kill("SIGKILL");
  await direct.pid1.exited;
}
