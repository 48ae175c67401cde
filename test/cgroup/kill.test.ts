// Killing a container's processes through its cgroups (runtime/features/cgroup/kill.ts):
// the order of writes against a fake tree, and the v1 freezer path on the real
// kernel against a shell that keeps forking.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { killCgroups } from "../../runtime/features/cgroup/kill.ts";
import { CgroupManager } from "../../runtime/features/cgroup/manager.ts";
import { machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import type { CgroupFs } from "../../runtime/features/cgroup/fs.ts";

/** A tree of files in memory that logs writes and kills in one sequence. */
function fakeTree(files: Record<string, string>, live: Set<number>) {
  const events: string[] = [];
  const fs: CgroupFs = {
    read: (p) => files[p] ?? "",
    write: (p, v) => {
      events.push(`write ${p}=${v}`);
      files[p] = v;
      if (p.endsWith("cgroup.kill")) live.clear();
    },
    mkdir: () => {},
    rmdir: () => {},
    exists: (p) => p in files,
    children: () => [],
  };
  const opts = { ms: 1000, now: () => performance.now(), sleep: async () => {}, kill: (pid: number) => { events.push(`kill ${pid}`); live.delete(pid); } };
  return { fs, events, opts, procs: () => [...live] };
}

describe("killCgroups", () => {
  test("v2: one write to cgroup.kill, no signals one by one", async () => {
    const t = fakeTree({ "/cg/c/cgroup.kill": "" }, new Set([10, 11]));
    expect(await killCgroups(t.fs, ["/cg/c"], t.procs, t.opts)).toEqual([]);
    expect(t.events).toEqual(["write /cg/c/cgroup.kill=1"]);
  });

  test("v1 with a freezer: frozen, every process killed, then thawed", async () => {
    const t = fakeTree({ "/f/c/freezer.state": "THAWED" }, new Set([10, 11]));
    expect(await killCgroups(t.fs, ["/f/c"], t.procs, t.opts)).toEqual([]);
    expect(t.events).toEqual(["write /f/c/freezer.state=FROZEN", "kill 10", "kill 11", "write /f/c/freezer.state=THAWED"]);
  });

  test("neither: signals until empty; what survives the deadline is returned, not hidden", async () => {
    const t = fakeTree({}, new Set([10]));
    const stubborn = { ...t.opts, ms: 30, kill: (pid: number) => void t.events.push(`kill ${pid}`) };
    const left = await killCgroups(t.fs, ["/x/c"], t.procs, { ...stubborn, sleep: (ms: number) => Bun.sleep(ms) });
    expect(left).toEqual([10]);
    expect(t.events.length).toBeGreaterThan(0);
  });
});

const sys = machineCgroups();
const freezer = (sys.all ?? []).find((h) => h.controllers.includes("freezer"));
const IS_ROOT = process.getuid?.() === 0;
const reason = !IS_ROOT ? "needs root" : !freezer ? "no v1 freezer hierarchy on this machine" : null;
if (reason) console.log(`skip: the real freezer test ${reason}`);

test.skipIf(reason !== null)("v1 freezer on the real kernel: a shell that forks all the time is killed to the last process", async () => {
  const v1only = { ...sys, v2: null, all: [freezer!] };
  const m = new CgroupManager(`ctr-killtest-${process.pid}`, v1only);
  // It starts forking once it is in the cgroup (the line on stdin), so every child is a member.
  const sh = Bun.spawn({ cmd: ["sh", "-c", "read go; while :; do sleep 30 & done"], stdin: "pipe", stdout: "ignore", stderr: "ignore" });
  try {
    await m.create([], { isolate: { hierarchies: [freezer!], required: true } }, [sh.pid]);
    sh.stdin.write("go\n");
    await sh.stdin.flush();
    await Bun.sleep(100);
    expect(m.procs().length).toBeGreaterThan(1);
    expect(await m.killAll()).toEqual([]);
    expect(m.log.some((w) => w.value === "FROZEN")).toBe(true);
  } finally {
    expect(await m.remove()).toEqual([]);
    sh.kill("SIGKILL");
  }
  await sh.exited;
  expect(existsSync(`${freezer!.mount}/ctr-killtest-${process.pid}`)).toBe(false);
});
