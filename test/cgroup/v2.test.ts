// The cgroup v2 path, against a faithful fake hierarchy (test/cgroup/fakefs.ts):
// this machine's controllers are bound to v1, so a real cgroup2 mount here has
// none of cpu, memory, pids or cpuset (see real-v2.test.ts for what the real
// one can show). Asserts the exact writes, in order, and the enabling of the
// controllers in cgroup.subtree_control of every parent.

import { afterEach, describe, expect, test } from "bun:test";
import { SysError } from "../../native/error.ts";
import { detectCgroups } from "../../runtime/features/cgroup/detect.ts";
import { CgroupManager } from "../../runtime/features/cgroup/manager.ts";
import { explainLimit } from "../../runtime/features/cgroup/plan.ts";
import { showCgroup } from "../../runtime/features/cgroup/show.ts";
import type { CgroupLimit } from "../../runtime/features/cgroup/types.ts";
import { FakeCgroup2, type FakeOp } from "./fakefs.ts";

const SELF = 1000;
const STAGE1 = 4242;

const CPU20: CgroupLimit = { controller: "cpu", percent: 20, periodUs: null, weight: null, shares: null };
const MEM32: CgroupLimit = { controller: "memory", bytes: 32 * 1024 * 1024, swapBytes: null };
const PIDS10: CgroupLimit = { controller: "pids", max: 10 };
const CPUSET0: CgroupLimit = { controller: "cpuset", cpus: "0", mems: null };

let fake: FakeCgroup2 | null = null;
afterEach(() => {
  fake?.cleanup();
  fake = null;
});

function setup(callerPath: string, controllers?: string[]): { fake: FakeCgroup2; m: CgroupManager } {
  fake = new FakeCgroup2(controllers);
  const parts = callerPath.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) fake.setupDir(`${fake.root}/${parts.slice(0, i).join("/")}`);
  const own = callerPath === "/" ? fake.root : `${fake.root}${callerPath}`;
  fake.place(own, SELF);
  fake.place(own, STAGE1);
  const f = fake;
  const sys = detectCgroups({ ...f.procTexts(callerPath), readFile: (p) => (f.exists(p) ? f.read(p) : null) });
  const m = new CgroupManager("test-1", sys, { fs: f, selfPid: SELF, sleep: async () => {}, kill: () => {} });
  return { fake: f, m };
}

const w = (path: string, value: string): FakeOp => ({ op: "write", path, value });

describe("cgroup v2 (fake hierarchy)", () => {
  test("detection sees a pure v2 machine and the caller's place in it", () => {
    const { fake, m } = setup("/user.slice/s.scope");
    expect(m.sys.mode).toBe("v2");
    expect(m.sys.v2).toEqual({ version: "v2", mount: fake.root, controllers: ["cpuset", "cpu", "io", "memory", "pids"], callerPath: "/user.slice/s.scope" });
    expect(m.sys.v1).toEqual({});
  });

  test("from the top cgroup: controllers enabled at the top, exact limit writes, stage 1 joined", async () => {
    const { fake, m } = setup("/");
    await m.create([CPU20, MEM32, PIDS10, CPUSET0], {}, [STAGE1]);
    const dir = "/ctr-test-1";
    expect(fake.ops).toEqual([
      w("/cgroup.subtree_control", "+cpu +memory +pids +cpuset"),
      { op: "mkdir", path: dir },
      w(`${dir}/cpu.max`, "20000 100000"),
      w(`${dir}/memory.max`, "33554432"),
      w(`${dir}/memory.swap.max`, "0"),
      w(`${dir}/pids.max`, "10"),
      w(`${dir}/cpuset.cpus`, "0"),
      w(`${dir}/cgroup.procs`, String(STAGE1)),
    ]);
    expect(fake.procsOf(`${fake.root}${dir}`)).toEqual([STAGE1]);
    expect(fake.read(`${fake.root}${dir}/cpu.max`).trim()).toBe("20000 100000");
    // The manager keeps one directory for every controller: v2 is one tree.
    expect(new Set(m.dirs.values())).toEqual(new Set([`${fake.root}${dir}`]));
    const problems = await m.remove();
    expect(problems).toEqual([]);
    expect(fake.tree()).toEqual(["/"]);
    expect(fake.ops.slice(-2)).toEqual([w(`${dir}/cgroup.kill`, "1"), { op: "rmdir", path: dir }]);
  });

  test("limit io: +io enabled, io.max per device, io.weight on its own scale (converted from the v1 scale, as runc does)", async () => {
    const { fake, m } = setup("/");
    const io = (o: Partial<Extract<CgroupLimit, { controller: "io" }>>): CgroupLimit => ({ controller: "io", device: null, weight: null, rbps: null, wbps: null, riops: null, wiops: null, ...o });
    await m.create([io({ device: { major: 8, minor: 0 }, rbps: 1048576, wiops: 100 }), io({ weight: 500 }), io({ device: { major: 8, minor: 16 }, weight: 1000 })], {}, [STAGE1]);
    const dir = "/ctr-test-1";
    expect(fake.ops).toEqual([
      w("/cgroup.subtree_control", "+io"),
      { op: "mkdir", path: dir },
      w(`${dir}/io.max`, "8:0 rbps=1048576 wiops=100"),
      w(`${dir}/io.weight`, "default 4950"),
      w(`${dir}/io.weight`, "8:16 10000"),
      w(`${dir}/cgroup.procs`, String(STAGE1)),
    ]);
    await m.remove();
    // Throttles need a device; the weight its range: refused before anything is made.
    const { m: m2, fake: f2 } = setup("/");
    await expect(m2.create([io({ rbps: 1 })], {}, [STAGE1])).rejects.toThrow("limit io: rbps=, wbps=, riops= and wiops= are per device");
    await expect(m2.create([io({ weight: 5 })], {}, [STAGE1])).rejects.toThrow("limit io weight=5: out of range");
    expect(f2.ops).toEqual([]);
  });

  test("a nested caller alone in its cgroup: every parent enables the controllers, ctr moves to a leaf and back", async () => {
    const { fake, m } = setup("/user.slice/s.scope");
    const before = fake.tree();
    await m.create([CPU20, PIDS10], {}, [STAGE1]);
    const own = "/user.slice/s.scope";
    const dir = `${own}/ctr-test-1`;
    const leaf = `${own}/ctr-test-1-host`;
    expect(fake.ops).toEqual([
      w("/cgroup.subtree_control", "+cpu +pids"),
      w("/user.slice/cgroup.subtree_control", "+cpu +pids"),
      { op: "mkdir", path: dir },
      { op: "mkdir", path: leaf },
      w(`${dir}/cgroup.procs`, String(STAGE1)),
      w(`${leaf}/cgroup.procs`, String(SELF)),
      w(`${own}/cgroup.subtree_control`, "+cpu +pids"),
      w(`${dir}/cpu.max`, "20000 100000"),
      w(`${dir}/pids.max`, "10"),
      w(`${dir}/cgroup.procs`, String(STAGE1)),
    ]);
    // Each parent enables for its children exactly what the container needs.
    for (const d of ["", "/user.slice", own]) expect(fake.read(`${fake.root}${d}/cgroup.subtree_control`).trim()).toBe("cpu pids");
    expect(fake.read(`${fake.root}${dir}/cgroup.controllers`).trim()).toBe("cpu pids");
    expect(fake.procsOf(`${fake.root}${own}`)).toEqual([]);
    expect(fake.procsOf(`${fake.root}${leaf}`)).toEqual([SELF]);

    const n = fake.ops.length;
    expect(await m.remove()).toEqual([]);
    expect(fake.ops.slice(n)).toEqual([
      w(`${dir}/cgroup.kill`, "1"),
      { op: "rmdir", path: dir },
      w(`${own}/cgroup.subtree_control`, "-cpu -pids"),
      w(`${own}/cgroup.procs`, String(SELF)),
      { op: "rmdir", path: leaf },
    ]);
    expect(fake.tree()).toEqual(before);
    expect(fake.procsOf(`${fake.root}${own}`)).toEqual([SELF]);
  });

  test("controllers already enabled in the caller's parent are not written again", async () => {
    const { fake, m } = setup("/user.slice/s.scope");
    fake.setupEnable(fake.root, ["cpu", "memory", "pids"]);
    fake.setupEnable(`${fake.root}/user.slice`, ["cpu", "memory", "pids"]);
    await m.create([MEM32], {}, [STAGE1]);
    const writes = fake.ops.filter((o) => o.path.endsWith("cgroup.subtree_control"));
    expect(writes).toEqual([w("/user.slice/s.scope/cgroup.subtree_control", "+memory")]);
    await m.remove();
  });

  test("the no-internal-processes rule: other processes in ctr's cgroup are a clear error, and nothing is written", async () => {
    const { fake, m } = setup("/user.slice/s.scope");
    fake.place(`${fake.root}/user.slice/s.scope`, 777); // the user's shell
    const before = fake.tree();
    const e = await m.create([CPU20], {}, [STAGE1]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SysError);
    const err = e as SysError;
    expect(err.status).toBe(125);
    expect(err.message).toContain("no-internal-processes");
    expect(err.message).toContain("777");
    expect(err.message).toContain("cpu");
    expect(err.hint).toContain("systemd-run --scope -p Delegate=yes");
    expect(fake.ops).toEqual([]);
    expect(fake.tree()).toEqual(before);
  });

  test("a controller the hierarchy does not offer: error naming it, exit 125, nothing left", async () => {
    const { fake, m } = setup("/", ["cpu", "pids"]);
    const e = (await m.create([CPU20, MEM32], {}, [STAGE1]).catch((x: unknown) => x)) as SysError;
    expect(e).toBeInstanceOf(SysError);
    expect(e.status).toBe(125);
    expect(e.message).toContain("memory controller is not available");
    expect(e.hint).toContain("cgroup v2");
    expect(fake.ops).toEqual([]);
    expect(fake.tree()).toEqual(["/"]);
  });

  test("a value the kernel refuses: the error names file and value, and the cgroup is removed", async () => {
    const { fake, m } = setup("/");
    // A period outside 1 ms..1 s passes ctr's checks only if the checker is bypassed: the kernel says EINVAL.
    const bad: CgroupLimit = { controller: "cpu", percent: 50, periodUs: 2_000_000, weight: null, shares: null };
    const e = (await m.create([bad], {}, [STAGE1]).catch((x: unknown) => x)) as SysError;
    expect(e.status).toBe(125);
    expect(e.message).toBe(`cannot write "1000000 2000000" to ${fake.root}/ctr-test-1/cpu.max: EINVAL (invalid argument)`);
    expect(fake.tree()).toEqual(["/"]);
  });

  test("weights, shares, swap and mems: the v2 spellings", async () => {
    const { fake, m } = setup("/");
    await m.create(
      [
        { controller: "cpu", percent: 150, periodUs: 50_000, weight: null, shares: 512 },
        { controller: "memory", bytes: 64 * 1024 * 1024, swapBytes: 16 * 1024 * 1024 },
        { controller: "cpuset", cpus: "0-1", mems: "0" },
      ],
      {},
      [STAGE1],
    );
    const writes = Object.fromEntries(fake.ops.filter((o) => o.op === "write").map((o) => [o.path.split("/").pop(), o.value]));
    expect(writes["cpu.max"]).toBe("75000 50000");
    expect(writes["cpu.weight"]).toBe("20"); // shares 512 -> weight, runc's formula
    expect(writes["memory.max"]).toBe(String(64 * 1024 * 1024));
    expect(writes["memory.swap.max"]).toBe(String(16 * 1024 * 1024));
    expect(writes["cpuset.cpus"]).toBe("0-1");
    expect(writes["cpuset.mems"]).toBe("0");
    await m.remove();
  });

  test("OOM kills are read from memory.events, once each", async () => {
    const { fake, m } = setup("/");
    await m.create([MEM32], {}, [STAGE1]);
    expect(m.newOomKills()).toBe(0);
    fake.simulateOom(m.dirs.get("memory")!, 1);
    expect(m.newOomKills()).toBe(1);
    expect(m.newOomKills()).toBe(0);
    const shown = showCgroup(m);
    expect(shown).toContain("memory.events oom_kill");
    expect(shown).toMatch(/oom kills\s+1, limit reached 10 times /);
    expect(shown).toContain("cpu.stat usage_usec");
    await m.remove();
  });

  test("live changes: a new limit on a running container, and a new controller with its processes moved in", async () => {
    const { fake, m } = setup("/");
    await m.create([PIDS10], {}, [STAGE1]);
    const n = fake.ops.length;
    m.apply({ controller: "pids", max: 20 });
    m.apply(MEM32); // memory is already enabled? no: enabled now, processes of the container stay in its one v2 cgroup
    expect(fake.ops.slice(n)).toEqual([
      w("/ctr-test-1/pids.max", "20"),
      w("/cgroup.subtree_control", "+memory"),
      w("/ctr-test-1/memory.max", "33554432"),
      w("/ctr-test-1/memory.swap.max", "0"),
    ]);
    await m.remove();
    expect(fake.tree()).toEqual(["/"]);
  });

  test("explain gives the v2 file writes", () => {
    const { fake, m } = setup("/user.slice/s.scope");
    const lines = explainLimit(CPU20, m.sys, "ID");
    expect(lines).toContain(`write ${fake.root}/cgroup.subtree_control = "+cpu"  # if not enabled yet: a child gets only what its parent enables`);
    expect(lines).toContain(`mkdir ${fake.root}/user.slice/s.scope/ctr-ID  # below ctr's own v2 cgroup (${fake.root}/user.slice/s.scope)`);
    expect(lines).toContain('write cpu.max = "20000 100000"  # 20% of one CPU: 20 ms in every 100 ms');
    expect(explainLimit(MEM32, m.sys, "ID")).toContain("write memory.swap.max = 0  # no swap: killed at the limit");
  });
});
