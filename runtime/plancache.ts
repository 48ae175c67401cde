// The compiled-plan cache: repeated runs of an unchanged script skip the front end.
//
// Parsing and checking cost little per statement, but loading the parser
// (chevrotain builds its lookahead tables at start) costs tens of milliseconds,
// more than the rest of a container start. A plan is a pure function of:
// the script's text, its arguments, the environment variables it reads
// (`${env.NAME}`), the CPU count (limit checks), who runs it (state and cache
// directories), and ctr's own code. The key covers all of them; scripts that
// import other files are not cached (their imports would have to be tracked too).
// Container ids vary per run, so plans are stored with a placeholder id.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus, homedir } from "node:os";
import type { Plan } from "./ops.ts";
import { stateRoot } from "./paths.ts";

const ID_PLACEHOLDER = "@CTR-ID@";
const ENV_REF = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)/g;
// Variables that decide where ctr keeps things, which plans embed.
const LOCATION_ENV = ["HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "SUDO_USER"];

function cacheDir(): string {
  return `${process.env.XDG_CACHE_HOME || `${homedir()}/.cache`}/ctr/plans`;
}

/** The cache key of a script run, or null when the script cannot be cached. */
export function planKey(file: string, text: string, args: readonly string[], codeStamp: string): string | null {
  if (/(^|[\s;{])import\s/.test(text)) return null;
  const env: Record<string, string | undefined> = {};
  for (const name of LOCATION_ENV) env[name] = process.env[name];
  for (const m of text.matchAll(ENV_REF)) env[m[1]!] = process.env[m[1]!];
  // Bun's native hasher: node:crypto alone would add ~5 ms to every start.
  const h = new Bun.CryptoHasher("sha256");
  // The state root as chosen now: XDG_RUNTIME_DIR counts only when it is usable (runtime/paths.ts).
  h.update(JSON.stringify({ codeStamp, file, text, args, env, cpus: cpus().length, uid: process.getuid?.(), stateRoot: stateRoot() }));
  return h.digest("hex").slice(0, 32);
}

export function placeholderId(): string {
  return ID_PLACEHOLDER;
}

/** The cached plan for `key` with `id` filled in, or null. */
export function loadPlan(key: string, id: string): Plan | null {
  let text: string;
  try {
    text = readFileSync(`${cacheDir()}/${key}.json`, "utf8");
  } catch {
    return null;
  }
  try {
    return JSON.parse(text.replaceAll(ID_PLACEHOLDER, id)) as Plan;
  } catch {
    return null; // a damaged entry is simply recompiled
  }
}

/** Store a plan compiled with the placeholder id. Failures only lose the cache. */
export function storePlan(key: string, plan: Plan): void {
  try {
    const dir = cacheDir();
    mkdirSync(dir, { recursive: true });
    const tmp = `${dir}/.${key}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(plan));
    renameSync(tmp, `${dir}/${key}.json`); // atomic: readers never see half a plan
  } catch {
    // read-only home: run without a cache
  }
}
