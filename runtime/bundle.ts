// The pre-bundled init entry (runtime/init.ts -> dist/init.js).
//
// Why a bundle: a Bun process that loads many modules starts "Bun Pool" loader
// threads, and unshare(CLONE_NEWUSER) needs a single-threaded process (DESIGN.md
// fact 4). One pre-built file, plus the environment below, keeps stage 1 on one
// thread; it also starts faster. koffi stays external: its loader finds the
// native module relative to its own package.
//
// The bundle is rebuilt whenever a source file it is made from is newer.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const PACKAGE_ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const ENTRY = join(PACKAGE_ROOT, "runtime", "init.ts");
const OUT_DIR = join(PACKAGE_ROOT, "dist");
export const INIT_BUNDLE = join(OUT_DIR, "init.js");

/** Settings that keep a fresh Bun process single-threaded (DESIGN.md fact 4). */
export const SINGLE_THREAD_ENV: Record<string, string> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
  MIMALLOC_PURGE_DELAY: "-1",
};

let newestCache = 0;
function newestSource(): number {
  if (newestCache) return newestCache;
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(join(dir, e.name)).mtimeMs);
    }
  };
  for (const dir of ["runtime", "native", "lang"]) walk(join(PACKAGE_ROOT, dir));
  return (newestCache = newest);
}

/** Identifies the code of this ctr: changes whenever a source file changes. */
export function codeStamp(): string {
  return `${INIT_BUNDLE}:${newestSource()}`;
}

/** Path of an up-to-date init bundle, building it if needed. */
export async function ensureInitBundle(): Promise<string> {
  if (existsSync(INIT_BUNDLE) && statSync(INIT_BUNDLE).mtimeMs >= newestSource()) return INIT_BUNDLE;
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = join(OUT_DIR, `.build-${process.pid}`);
  const result = await Bun.build({ entrypoints: [ENTRY], outdir: tmp, target: "bun", external: ["koffi", "koffi/*"], minify: true });
  if (!result.success) {
    throw new Error(`cannot build the init bundle: ${result.logs.map((l) => String(l)).join("; ")}`);
  }
  // Rename into place: a concurrent ctr never sees a half-written bundle.
  renameSync(join(tmp, "init.js"), INIT_BUNDLE);
  require("node:fs").rmSync(tmp, { recursive: true, force: true });
  return INIT_BUNDLE;
}
