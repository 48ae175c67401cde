// Helpers for the native/ tests: run a snippet in a fresh Bun process that has native/
// imported as `n`, so namespace changes never touch the test runner.

import { test } from "bun:test";

export const NATIVE = new URL("../../native/index.ts", import.meta.url).pathname;
export const IS_ROOT = process.getuid?.() === 0;

export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `body` (top-level await allowed) in `bun -e` with `import * as n from native`. */
export function runChild(body: string, env: Record<string, string> = {}): ChildResult {
  const script = `import * as n from ${JSON.stringify(NATIVE)};\n${body}\n`;
  const r = Bun.spawnSync({
    cmd: [process.execPath, "-e", script],
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Parse the last stdout line of a child as JSON, failing with the child's stderr. */
export function childJson<T = any>(body: string, env: Record<string, string> = {}): T {
  const r = runChild(body, env);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`child failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

let skipNoted = false;
/** A test that needs root: skipped, with the reason printed, for other users. */
export function rootTest(name: string, fn: () => void | Promise<void>, timeout?: number): void {
  if (!IS_ROOT && !skipNoted) {
    skipNoted = true;
    console.log("skip: native tests that make privileged calls need root");
  }
  test.skipIf(!IS_ROOT)(name, fn, timeout);
}
