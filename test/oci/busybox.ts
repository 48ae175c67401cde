// A busybox root filesystem for a test file's bundles, made once before its
// tests (as root; `ctr rootfs busybox`) and removed after them.

import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT } from "../integration/host-state.ts";

/** The rootfs's path once the file's tests start ("" without root, where they skip). */
export function busyboxRootfs(prefix: string): { readonly path: string } {
  let dir = "";
  const made = { path: "" };
  beforeAll(() => {
    if (!IS_ROOT) return;
    dir = mkdtempSync(join(tmpdir(), prefix));
    made.path = join(dir, "bb");
    const b = Bun.spawnSync([CTR, "rootfs", "busybox", made.path], { stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return made;
}
