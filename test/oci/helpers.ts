// Helpers of the OCI tests that run real containers (pause.test.ts, update.test.ts):
// a busybox rootfs made once per file, bundles from `ctr spec`, `create` with
// its pid file, and waiting for processes.

import { afterAll, beforeAll, expect } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT, REPO, type Host, type SpawnOptions } from "../integration/host-state.ts";

let dir = "";
let rootfs = "";

/** Call once at a test file's top: the busybox rootfs its bundles use. */
export function useRootfs(): void {
  beforeAll(() => {
    if (!IS_ROOT) return;
    dir = mkdtempSync(join(tmpdir(), "ctr-it-oci-"));
    rootfs = join(dir, "bb");
    const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}

export const COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.05; done";

export async function bundle(h: Host, args: string[], edit: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const b = h.scratch();
  expect((await h.ctr(["spec", "--bundle", b])).code).toBe(0);
  const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  cfg.root.path = rootfs;
  cfg.process.args = args;
  edit(cfg);
  writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
  return b;
}

export function oci(h: Host, root: string, args: string[], opts: SpawnOptions = {}) {
  return h.ctr(["--root", root, ...args], opts);
}

export function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** `create`, its standard streams in a file; PID 1's pid from --pid-file. */
export async function create(h: Host, root: string, b: string, id: string): Promise<number> {
  const fd = openSync(join(root, "..", `${id}.out`), "w");
  const pidFile = join(root, "..", `${id}.pid`);
  try {
    const proc = Bun.spawn({ cmd: [CTR, "--root", root, "create", "--bundle", b, "--pid-file", pidFile, id], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", fd, fd] });
    h.pids.push(proc.pid);
    expect(await proc.exited).toBe(0);
  } finally {
    closeSync(fd);
  }
  const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
  if (rec.supervisor) h.pids.push(rec.supervisor.pid);
  return Number(readFileSync(pidFile, "utf8"));
}

