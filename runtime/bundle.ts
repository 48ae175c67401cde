// The pre-bundled init entry (runtime/init.ts -> dist/init.js).
//
// Why a bundle: a Bun process that loads many modules starts "Bun Pool" loader
// threads, and unshare(CLONE_NEWUSER) needs a single-threaded process (DESIGN.md
// fact 4). One pre-built file, plus the environment below, keeps stage 1 on one
// thread; it also starts faster. koffi stays external: its loader finds the
// native module relative to its own package.
//
// The bundle is rebuilt whenever a source file it is made from is newer.

import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { SysError } from "../native/error.ts";
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
  try {
    mkdirSync(OUT_DIR, { recursive: true });
    accessSync(OUT_DIR, constants.W_OK);
  } catch (e) {
    // Typically an ordinary user running a checkout owned by root (rootless ctr).
    const code = (e as NodeJS.ErrnoException).code ?? "EACCES";
    throw new SysError({
      code,
      message: `the init bundle ${INIT_BUNDLE} is ${existsSync(INIT_BUNDLE) ? "older than ctr's sources" : "missing"} and cannot be rebuilt by this user (${OUT_DIR}: ${code})`,
      hint: `run any script once as the owner of ${OUT_DIR} (e.g. \`sudo ctr -e 'echo ok'\`): that rebuilds it`,
      status: 125,
    });
  }
  const tmp = join(OUT_DIR, `.build-${process.pid}`);
  let result: { success: boolean; logs: unknown[] };
  try {
    result = await Bun.build({ entrypoints: [ENTRY], outdir: tmp, target: "bun", external: ["koffi", "koffi/*"], minify: true });
  } catch (e) {
    // Bun.build throws (an AggregateError of build messages) rather than returning success: false.
    result = { success: false, logs: (e as AggregateError).errors ?? [e] };
  }
  if (!result.success) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`cannot build the init bundle: ${result.logs.map((l) => String(l)).join("; ")}`);
  }
  // Rename into place: a concurrent ctr never sees a half-written bundle.
  renameSync(join(tmp, "init.js"), INIT_BUNDLE);
  rmSync(tmp, { recursive: true, force: true });
  return INIT_BUNDLE;
}
