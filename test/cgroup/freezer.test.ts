// The cgroup freezer (runtime/features/cgroup/freezer.ts): which hierarchy a
// container's freezer cgroup goes in, v2's cgroup.freeze against the fake tree,
// a v1 freezer that never settles (thawed again, an error), and for real as
// root: a counting process stops while its cgroup is frozen and counts again
// once thawed, in the machine's v1 freezer hierarchy and in its v2 tree.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { freeze, freezerHierarchy, freezerOf, isFrozen, thaw } from "../../runtime/features/cgroup/freezer.ts";
import type { CgroupFs } from "../../runtime/features/cgroup/fs.ts";
import { CgroupManager } from "../../runtime/features/cgroup/manager.ts";
import type { CgroupSystem, Hierarchy } from "../../runtime/features/cgroup/types.ts";
import { FakeCgroup2 } from "./fakefs.ts";

const fakes: FakeCgroup2[] = [];
afterAll(() => fakes.forEach((f) => f.cleanup()));

const v1Freezer: Hierarchy = { version: "v1", mount: "/sys/fs/cgroup/freezer", controllers: ["freezer"], callerPath: "/" };
const v1Pids: Hierarchy = { version: "v1", mount: "/sys/fs/cgroup/pids", controllers: ["pids"], callerPath: "/" };
const unified: Hierarchy = { version: "v2", mount: "/sys/fs/cgroup/unified", controllers: [], callerPath: "/" };

/** A v1 freezer.state that stays as `stuck` whatever is written (a task forking without end), the writes kept. */
function stuckV1(stuck: string): CgroupFs & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    read: () => `${stuck}\n`,
    write: (p, v) => void writes.push(`${p}=${v}`),
    mkdir: () => {},
    rmdir: () => {},
    exists: () => true,
    children: () => [],
  };
}

describe("the freezer's hierarchy", () => {
  test("v1's freezer where mounted (a hybrid machine's too), else the v2 tree; none without either", () => {
    expect(freezerHierarchy({ mode: "hybrid", v1: { pids: v1Pids }, v2: unified, all: [v1Pids, v1Freezer, unified] })).toBe(v1Freezer);
    expect(freezerHierarchy({ mode: "hybrid", v1: { pids: v1Pids }, v2: unified, all: [v1Pids, unified] })).toBe(unified);
    expect(freezerHierarchy({ mode: "v1", v1: { pids: v1Pids }, v2: null, all: [v1Pids] })).toBeNull();
  });

  test("the container's freezer is its cgroup in that hierarchy, never v2's delegation leaf; none when it has no cgroup there", () => {
    const fake = new FakeCgroup2();
    fakes.push(fake);
    const h: Hierarchy = { version: "v2", mount: fake.root, controllers: [], callerPath: "/" };
    const sys: CgroupSystem = { mode: "v2", v1: {}, v2: h };
    fake.setupDir(`${fake.root}/c-host`);
    fake.setupDir(`${fake.root}/c`);
    expect(freezerOf(fake, sys, [`${fake.root}/c-host`, `${fake.root}/c`])).toEqual({ version: "v2", dir: `${fake.root}/c` });
    expect(freezerOf(fake, sys, [`${fake.root}/c-host`])).toBeNull();
    expect(freezerOf(fake, sys, ["/elsewhere/c"])).toBeNull();
  });
});

describe("cgroup v2 freezer (the fake tree)", () => {
  test("a container's isolation cgroup is made in the freezer's hierarchy; 1 in cgroup.freeze, frozen 1 in cgroup.events (its children's too); 0 thaws", async () => {
    const fake = new FakeCgroup2();
    fakes.push(fake);
    const h: Hierarchy = { version: "v2", mount: fake.root, controllers: ["cpu", "memory", "pids"], callerPath: "/" };
    const sys: CgroupSystem = { mode: "v2", v1: {}, v2: h };
    const m = new CgroupManager("frz", sys, { fs: fake, selfPid: 1 });
    m.createNow([], { isolate: { hierarchies: [freezerHierarchy(sys)!], required: true } }, [4242]);
    const f = freezerOf(fake, sys, m.made)!;
    expect(f).toEqual({ version: "v2", dir: `${fake.root}/ctr-frz` });
    fake.setupDir(`${f.dir}/child`);
    expect(isFrozen(fake, f)).toBe(false);
    await freeze(fake, f);
    expect(readFileSync(`${f.dir}/cgroup.freeze`, "utf8")).toBe("1\n");
    expect(isFrozen(fake, f)).toBe(true);
    expect(readFileSync(`${f.dir}/child/cgroup.events`, "utf8")).toContain("frozen 1");
    await thaw(fake, f);
    expect(isFrozen(fake, f)).toBe(false);
    expect(readFileSync(`${f.dir}/child/cgroup.events`, "utf8")).toContain("frozen 0");
    expect(fake.ops.filter((o) => o.path.endsWith("cgroup.freeze")).map((o) => o.value)).toEqual(["1", "0"]);
  });
});

describe("cgroup v1 freezer that does not settle", () => {
  test("FREEZING forever: FROZEN asked again while waiting, then THAWED and an error naming the cgroup", async () => {
    const fs = stuckV1("FREEZING");
    let t = 0;
    const opts = { now: () => t, sleep: async (ms: number) => void (t += ms), ms: 200 };
    await expect(freeze(fs, { version: "v1", dir: "/x/c" }, opts)).rejects.toThrow("the freezer of /x/c did not reach the frozen state in time");
    const frozen = fs.writes.filter((w) => w === "/x/c/freezer.state=FROZEN").length;
    expect(frozen).toBeGreaterThan(1);
    expect(fs.writes.at(-1)).toBe("/x/c/freezer.state=THAWED");
  });
});

// ---- for real ---------------------------------------------------------------

const IS_ROOT = process.getuid?.() === 0;
const machine = machineCgroups();
const v1 = (machine.all ?? []).find((h) => h.version === "v1" && h.controllers.includes("freezer"));
if (!IS_ROOT) console.log("skip: the real freezer tests need root");
else if (!v1) console.log("skip: no v1 freezer hierarchy mounted here");
if (IS_ROOT && !machine.v2) console.log("skip: no cgroup v2 tree mounted here");

/** A process counting in a file every 20 ms, in a cgroup of its own in `sys`'s freezer hierarchy: frozen stops it, thawed lets it go on. */
async function counts(sys: CgroupSystem, expected: "v1" | "v2"): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "ctr-freezer-"));
  const file = join(work, "n");
  const m = new CgroupManager(`freezer-${expected}-${process.pid}`, sys);
  const p = Bun.spawn({ cmd: ["sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.02; done`] });
  const n = () => Number(readFileSync(file, "utf8").trim() || 0);
  try {
    await m.create([], { isolate: { hierarchies: [freezerHierarchy(sys)!], required: true } }, [p.pid]);
    const f = freezerOf(m.fs, sys, m.made)!;
    expect(f.version).toBe(expected);
    while (!(await Bun.file(file).exists()) || n() < 3) await Bun.sleep(10);
    await freeze(m.fs, f);
    expect(isFrozen(m.fs, f)).toBe(true);
    const held = n();
    await Bun.sleep(200);
    expect(n()).toBe(held);
    await thaw(m.fs, f);
    expect(isFrozen(m.fs, f)).toBe(false);
    const until = Date.now() + 5000;
    while (n() < held + 3 && Date.now() < until) await Bun.sleep(10);
    expect(n()).toBeGreaterThanOrEqual(held + 3);
  } finally {
    p.kill("SIGKILL");
    await p.exited;
    expect(await m.remove()).toEqual([]);
    rmSync(work, { recursive: true, force: true });
  }
}

describe("the freezer (the real hierarchies)", () => {
  test.skipIf(!IS_ROOT || !v1)("v1: freezer.state FROZEN stops a counting process, THAWED lets it go on; its cgroup removed", () => counts(machine, "v1"));
  test.skipIf(!IS_ROOT || !machine.v2)("v2: cgroup.freeze 1 stops a counting process, 0 lets it go on; its cgroup removed", () => counts({ mode: "v2", v1: {}, v2: machine.v2! }, "v2"));
});
