// The pre-built bundles: dist/<stamp>/init.js (the init stages) and
// dist/<stamp>/cli.js (the ctr process itself); for `ctr exec`, the part of
// each it needs, exec-cli.js and enter-init.js; for the direct start, the
// part of the host before PID 1 (direct-start.js) and after it (direct-run.js);
// init.mjs, PID 1's entry, which only awaits init.js (runtime/init.ts, `running`).
//
// Why bundles:
//   - init.js: a Bun process that loads many modules starts "Bun Pool" loader
//     threads, and unshare(CLONE_NEWUSER) needs a single-threaded process
//     (docs/ARCHITECTURE.md, "One thread for a user namespace"). One file,
//     plus SINGLE_THREAD_ENV, keeps stage 1 on one thread; it also starts faster.
//   - cli.js: start-up latency is a headline figure, and Bun transpiling some
//     forty TypeScript files at every start costs more than a container's
//     namespaces. One CommonJS file with Bun's bytecode, not an ES module
//     build code-split into chunks: the modules behind dynamic imports (the
//     front end, chevrotain) still run only when imported, and loading from
//     bytecode skips the parsing that dominated the chunks' cost (measured,
//     issue 17: a plain run's CPU 86 -> 68 ms, `ctr check` 124 -> 78 ms).
// koffi stays external: its loader finds the native module next to its package.
// node:fs, node:path and node:os are loaded on first use in every bundle, not when
// it loads (runtime/lazy-builtins.ts): a stage that calls none of them saves ~5 ms.
//
// <stamp> is the newest modification time of ctr's sources: editing any file
// makes a new build directory, built once by the next run (into a temporary
// directory renamed into place, so a concurrent ctr never sees half a build).

import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SysError } from "../native/error.ts";
import { parseManifest, SOURCE_TREES, unchangedStamp, type SourcesManifest } from "./sources.ts";

/**
 * The directory of the file this code runs from, at run time: runtime/ in the sources, dist/<stamp>/ in a build.
 * Not import.meta.dir: the bundler writes in its value at build time, so a checkout moved (or copied) after its
 * build would have its bundles take the old place for their own, build there, and start stages from there. The
 * first frame of a stack made here names the file that holds this function as it is loaded.
 */
function hereDir(): string | undefined {
  const frame = (new Error().stack ?? "").split("\n").find((l) => l.trimStart().startsWith("at "));
  const m = frame ? /\((\/.*):\d+:\d+\)$/.exec(frame) ?? /^\s*at (\/.*):\d+:\d+$/.exec(frame) : null;
  const file = m?.[1] ?? m?.[2];
  return file ? file.slice(0, file.lastIndexOf("/")) || "/" : undefined;
}

/** The nearest directory from `dir` up holding package.json, or null. */
function packageAbove(dir: string): string | null {
  // As every bundle loads: Bun.file and string operations, neither node:fs nor node:path (runtime/lazy-builtins.ts).
  for (;;) {
    if (Bun.file(`${dir}/package.json`).size > 0) return dir;
    if (dir === "/") return null;
    dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
  }
}

let root: string | undefined;
/**
 * The package's root: the nearest directory above this code's file holding package.json (also from dist/<stamp>/).
 * Found on first use: the stack costs ~0.13 ms, and a direct start, which knows its build directory, never asks.
 */
export function packageRoot(): string {
  if (root === undefined) {
    const here = hereDir();
    root = (here !== undefined ? packageAbove(here) : null) ?? packageAbove(import.meta.dir) ?? "/";
  }
  return root;
}
/** Where `import "std/NAME"` finds NAME.ctr: the package's stdlib/ (lang/'s default is where lang/ was built). */
export const stdlibDir = (): string => `${packageRoot()}/stdlib`;

/** Where the builds go: dist/ of the package. */
const outDir = (): string => `${packageRoot()}/dist`;

/**
 * Settings that keep a fresh Bun process single-threaded (docs/ARCHITECTURE.md,
 * "One thread for a user namespace"), and without the JIT: every stage either
 * runs for a few ms or waits (stage 1 for its whole container), where
 * compiling does not pay; measured, a container's run 129 -> 121 ms of CPU and
 * stage 1 5.0 -> 4.7 MiB anonymous (30 and 6 runs).
 */
export const SINGLE_THREAD_ENV: Record<string, string> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
  MIMALLOC_PURGE_DELAY: "-1",
  BUN_JSC_useJIT: "0",
};

/**
 * What PID 1 inherits in a container is not the host's environment (issue 16,
 * item 6: /proc/1/environ is PID 1's start-up environment, and the container
 * may read it): only the variables the stages themselves read. Commands get
 * theirs from the agent's state (features/process/process.ts, initialEnv), not
 * from this. `ns none` keeps the caller's environment on purpose (callerEnvironment).
 * Stage 1 and the direct start (runtime/features/ns/direct.ts) both start PID 1 with it.
 */
const STAGE2_ENV_KEYS = ["TERM", "CTR_EXEC_STAGE", ...Object.keys(SINGLE_THREAD_ENV)];

export function stage2Environment(env: Record<string, string | undefined>, callerEnv: boolean): [string, string][] {
  return Object.entries(env)
    .filter(([k]) => callerEnv || STAGE2_ENV_KEYS.includes(k))
    .map(([k, v]) => [k, v ?? ""]);
}

let newestCache = 0;
/** The newest source's time as runtime/main.ts found it, moments ago: the same build, and no second scan (~5 ms). */
export function knownNewestSource(ms: number): void {
  if (!newestCache && ms > 0) newestCache = ms;
}

/**
 * The newest modification time of ctr's sources (and of its standard library,
 * stdlib/), in ms, as runtime/main.ts finds
 * it (the same code: the two must agree), to find the build before loading
 * anything: Bun.Glob and Bun.file, which cost ~3 ms for 190 files where node:fs
 * costs ~1.5 ms but ~5 ms more to load, on the container's critical path.
 */
function newestSource(): number {
  if (newestCache) return newestCache;
  let newest = 0;
  // Every .ts file under these, dot files too; one that vanished since the listing (or a dangling link) counts for nothing.
  // The standard library too: a cached plan of a script that imports it holds what it read there (runtime/plancache.ts).
  for (const f of sourceFiles()) {
    const t = Bun.file(`${packageRoot()}/${f}`).lastModified;
    if (t < 2 ** 52 - 1) newest = Math.max(newest, t);
  }
  return (newestCache = newest);
}

/** The source files that make the stamp, relative to the package's root (SOURCE_TREES). */
function sourceFiles(): string[] {
  return SOURCE_TREES.flatMap(([d, p]) => [...new Bun.Glob(p).scanSync({ cwd: `${packageRoot()}/${d}`, dot: true })].map((f) => `${d}/${f}`));
}

/** The manifest of a build of `stamp` (runtime/sources.ts): the source files, and every directory of their trees with its time. */
function sourcesManifest(stamp: number): SourcesManifest {
  const dirs: [string, number][] = [];
  const walk = (dir: string): void => {
    dirs.push([dir, Bun.file(`${packageRoot()}/${dir}`).lastModified]);
    for (const e of readdirSync(`${packageRoot()}/${dir}`, { withFileTypes: true })) if (e.isDirectory()) walk(`${dir}/${e.name}`);
  };
  for (const [d] of SOURCE_TREES) walk(d);
  return { stamp, files: sourceFiles(), dirs };
}

/**
 * The build of the current sources, if it exists, is the one dist/current names,
 * with a manifest that says so (runtime/sources.ts): made again when it does not,
 * e.g. a build of an older ctr, which has none, or a directory's time changed by a
 * file that is not a source (an editor's swap file). Best effort, as markCurrent.
 */
export function markBuildCurrent(): void {
  const dir = buildDir();
  if (!existsSync(initBundle(dir))) return;
  const manifest = join(dir, "sources.json");
  const stamp = Math.floor(newestSource());
  let m: SourcesManifest | null = null;
  try {
    m = parseManifest(readFileSync(manifest, "utf8"));
  } catch {
    // none
  }
  if (!m || unchangedStamp(m, packageRoot(), (p) => Bun.file(p).lastModified) !== stamp) {
    const tmp = `${manifest}.${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(sourcesManifest(stamp)));
      renameSync(tmp, manifest);
    } catch {
      quietRm(tmp);
      return;
    }
  }
  markCurrent(dir);
}

/**
 * Point dist/current at the build `dir` (runtime/main.ts tries it first: runtime/sources.ts),
 * replacing the link in one rename. Best effort: a user who cannot write dist/ leaves it as it is.
 */
function markCurrent(dir: string): void {
  const link = join(outDir(), "current");
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  try {
    if (readlinkSync(link) === name) return;
  } catch {
    // none yet
  }
  const tmp = join(outDir(), `.current-${process.pid}`);
  try {
    rmSync(tmp, { force: true });
    symlinkSync(name, tmp);
    renameSync(tmp, link);
  } catch {
    quietRm(tmp);
  }
}

function quietRm(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // not ours to remove (dist/ of another user): nothing was made there either
  }
}

/** The build directory for the current sources (it may not exist yet). */
export function buildDir(): string {
  return join(outDir(), String(Math.floor(newestSource())));
}

/** Identifies the code of this ctr: changes whenever a source file changes. */
export function codeStamp(): string {
  return buildDir();
}

/** The init bundle's path, for a build directory. */
export function initBundle(dir = buildDir()): string {
  return join(dir, "init.js");
}

async function build(options: Parameters<typeof Bun.build>[0]): Promise<void> {
  let result: { success: boolean; logs: unknown[] };
  try {
    result = await Bun.build(options);
  } catch (e) {
    // Bun.build throws (an AggregateError of build messages) rather than returning success: false.
    result = { success: false, logs: (e as AggregateError).errors ?? [e] };
  }
  if (!result.success) throw new Error(`cannot build ctr's bundles: ${result.logs.map((l) => String(l)).join("; ")}`);
}

/** `ctr exec`'s enter stage (runtime/enter-init.ts), next to an init bundle. */
export function enterBundle(init: string): string {
  return join(dirname(init), "enter-init.js");
}

/** Path of an up-to-date init bundle, building the bundles if needed. */
export async function ensureInitBundle(): Promise<string> {
  const dir = buildDir();
  if (existsSync(initBundle(dir))) {
    markBuildCurrent();
    return initBundle(dir);
  }
  try {
    mkdirSync(outDir(), { recursive: true });
    accessSync(outDir(), constants.W_OK);
  } catch (e) {
    // Typically an ordinary user running a checkout owned by root (rootless ctr).
    const code = (e as NodeJS.ErrnoException).code ?? "EACCES";
    throw new SysError({
      code,
      message: `ctr's bundles for its current sources are missing from ${outDir()} and cannot be built by this user (${code})`,
      hint: `run any container once as the owner of ${outDir()} (e.g. \`sudo ctr -e 'ns uts; run true'\`): that builds them`,
      status: 125,
    });
  }
  const tmp = join(outDir(), `.build-${process.pid}`);
  try {
    // node:fs, node:path and node:os loaded on first use, not with the bundle (runtime/lazy-builtins.ts).
    const { lazyBuiltins } = await import("./lazy-builtins.ts");
    const common = { target: "bun" as const, external: ["koffi", "koffi/*", "@koromix/*"], minify: true, plugins: [lazyBuiltins] };
    // Bytecode (CommonJS only in Bun) saves each stage ~1 ms of parsing, the CLI more.
    await build({ ...common, entrypoints: [join(packageRoot(), "runtime", "init.ts")], outdir: tmp, format: "cjs", bytecode: true });
    await build({ ...common, entrypoints: [join(packageRoot(), "runtime", "cli.ts")], outdir: tmp, format: "cjs", bytecode: true });
    // `ctr exec`'s two processes, each a fraction of the bundle above it (runtime/exec-cli.ts, runtime/enter-init.ts).
    await build({ ...common, entrypoints: [join(packageRoot(), "runtime", "exec-cli.ts"), join(packageRoot(), "runtime", "enter-init.ts")], outdir: tmp, format: "cjs", bytecode: true });
    // PID 1's entry: init.js, awaited (runtime/init.ts, `running`).
    writeFileSync(join(tmp, "init.mjs"), 'await require("./init.js").running;\n');
    // The direct start, which runtime/main.ts loads first (runtime/direct-start.ts), and the runner of its
    // container (runtime/direct-run.ts), which stands in for the CLI.
    // Two builds: one build of both entries makes the first a third larger (measured), and it delays PID 1.
    for (const entry of ["direct-start.ts", "direct-run.ts"]) await build({ ...common, entrypoints: [join(packageRoot(), "runtime", entry)], outdir: tmp, format: "cjs", bytecode: true });
    writeFileSync(join(tmp, "sources.json"), JSON.stringify(sourcesManifest(Math.floor(newestSource()))));
    try {
      renameSync(tmp, dir);
    } catch {
      // another ctr finished the same build first: use theirs
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  removeOldBuilds(dir);
  markCurrent(dir);
  return initBundle(dir);
}

/** Keep the current build and the one before it (a ctr started just before may still use it). */
function removeOldBuilds(current: string): void {
  const builds = readdirSync(outDir())
    .filter((n) => /^\d+$/.test(n) && join(outDir(), n) !== current)
    .sort((a, b) => Number(b) - Number(a));
  for (const old of builds.slice(1)) rmSync(join(outDir(), old), { recursive: true, force: true });
  rmSync(join(outDir(), "init.js"), { force: true }); // the layout before build directories
}
