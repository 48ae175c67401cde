// `update` of an OCI container's resources: the request read into limits by
// the config's translation (flags and a --resources document alike; what ctr
// cannot change refused by name, nothing written); the writes on a fake
// cgroup v2 tree; and for real (as root): a running container's cgroup files
// hold what update gave, from flags and from --resources on stdin.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SysError } from "../../native/error.ts";
import { hierarchyOf, machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import type { CgroupSystem, Hierarchy, KernelController } from "../../runtime/features/cgroup/types.ts";
import type { OciRecord } from "../../runtime/features/oci/state.ts";
import { applyLimits, updateLimits } from "../../runtime/features/oci/update.ts";
import { FakeCgroup2 } from "../cgroup/fakefs.ts";
import { itest, onHost } from "../integration/host-state.ts";
import { bundle, create, oci, useRootfs } from "./helpers.ts";

useRootfs();

const flags = (o: Record<string, string>) => ({ flags: new Map(Object.entries(o)) });

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SysError) return e.message;
    throw e;
  }
  throw new Error("no error");
}

describe("update: the request", () => {
  test("flags become the limits a config's resources would", () => {
    expect(updateLimits(flags({ memory: "64m", "pids-limit": "50", "cpu-quota": "20000", "cpu-period": "100000", "cpu-shares": "512", "cpuset-cpus": "0" }))).toEqual([
      { controller: "memory", bytes: 64 << 20, swapBytes: null },
      { controller: "cpu", percent: 20, periodUs: 100000, weight: null, shares: 512 },
      { controller: "cpuset", cpus: "0", mems: null },
      { controller: "pids", max: 50 },
    ]);
    expect(updateLimits(flags({}))).toEqual([]);
  });

  test("what ctr cannot change is refused by field or flag, every problem at once", () => {
    expect(refusal(() => updateLimits(flags({ memory: "-1", "cpu-period": "50000" })))).toBe(
      "update: nothing changed:\n`linux.resources.memory.limit` -1 (--memory): removing a limit is not supported yet: give a new limit\n--cpu-period: `linux.resources.cpu.period` is not supported yet: a period without a quota (remove it from config.json; ctr refuses a bundle it cannot run in full)",
    );
    expect(refusal(() => updateLimits(flags({ "pids-limit": "many" })))).toBe('update --pids-limit: "many" is not a whole number');
    expect(refusal(() => updateLimits({ resources: "/nonexistent", flags: new Map([["memory", "1m"]]) }))).toBe("update: --resources and --memory together: give the resources in one or the other");
  });
});

describe("update: the writes (a fake cgroup v2 tree)", () => {
  const fake = new FakeCgroup2();
  afterAll(() => fake.cleanup());

  test("memory, pids and cpu enabled above the container's cgroup, then written; v2's cpu.max and cpu.weight", () => {
    const h: Hierarchy = { version: "v2", mount: fake.root, controllers: ["cpuset", "cpu", "io", "memory", "pids"], callerPath: "/" };
    const sys: CgroupSystem = { mode: "v2", v1: {}, v2: h };
    fake.setupDir(`${fake.root}/pod`);
    fake.setupDir(`${fake.root}/pod/c`);
    fake.place(`${fake.root}/pod/c`, 4242);
    const rec = { id: "c", cid: "ctr-oci-test-held", held: { cgroups: [`${fake.root}/pod/c`], parents: [], stateDir: null } } as unknown as OciRecord;
    applyLimits(rec, updateLimits(flags({ memory: "64m", "pids-limit": "50", "cpu-quota": "20000", "cpu-shares": "1024" })), { sys, fs: fake });
    const read = (f: string) => readFileSync(`${fake.root}/pod/c/${f}`, "utf8").trim();
    expect([read("memory.max"), read("pids.max"), read("cpu.max"), read("cpu.weight")]).toEqual([String(64 << 20), "50", "20000 100000", "40"]); // shares 1024 in v2 terms (runc's formula, rounded)
    expect(readFileSync(`${fake.root}/pod/cgroup.subtree_control`, "utf8").trim().split(" ").sort()).toEqual(["cpu", "memory", "pids"]);
    expect(fake.procsOf(`${fake.root}/pod/c`)).toEqual([4242]);
    expect(fake.tree()).toEqual(["/", "/pod", "/pod/c"]); // nothing made
  });
});

describe("update: for real", () => {
  itest("a running container's cgroup files hold what update gave (flags, then --resources on stdin); a refusal writes nothing; a stopped one is refused", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      mkdirSync(root);
      const b = await bundle(h, ["sleep", "100"]);
      await create(h, root, b, "u");
      try {
        expect((await oci(h, root, ["start", "u"])).code).toBe(0);
        const held: string[] = JSON.parse(readFileSync(join(root, "u", "state.json"), "utf8")).held.cgroups;
        const sys = machineCgroups();
        const file = (c: KernelController, name: string) => {
          const mount = hierarchyOf(sys, c)!.mount;
          return readFileSync(`${held.find((d) => d.startsWith(`${mount}/`))}/${name}`, "utf8").trim();
        };
        const v1 = hierarchyOf(sys, "memory")!.version === "v1";
        const r = await oci(h, root, ["update", "--memory", "64m", "--pids-limit", "50", "--cpu-quota", "20000", "--cpu-period", "100000", "--cpu-share", "512", "--cpuset-cpus", "0", "u"]);
        expect([r.code, r.stderr]).toEqual([0, ""]);
        if (v1) {
          expect([file("memory", "memory.limit_in_bytes"), file("pids", "pids.max"), file("cpu", "cpu.cfs_quota_us"), file("cpu", "cpu.cfs_period_us"), file("cpu", "cpu.shares"), file("cpuset", "cpuset.cpus")]).toEqual([String(64 << 20), "50", "20000", "100000", "512", "0"]);
        } else {
          expect([file("memory", "memory.max"), file("pids", "pids.max"), file("cpu", "cpu.max"), file("cpuset", "cpuset.cpus")]).toEqual([String(64 << 20), "50", "20000 100000", "0"]);
        }
        const memFile = v1 ? "memory.limit_in_bytes" : "memory.max";
        const s = await oci(h, root, ["update", "--resources", "-", "u"], { stdin: JSON.stringify({ memory: { limit: 32 << 20 }, pids: { limit: 40 } }) });
        expect([s.code, s.stderr]).toEqual([0, ""]);
        expect([file("memory", memFile), file("pids", "pids.max")]).toEqual([String(32 << 20), "40"]);
        // Refused by name, before anything is written: the pids limit stays 40.
        const bad = await oci(h, root, ["update", "--resources", "-", "u"], { stdin: '{\n  "pids": {"limit": 30},\n  "blockIO": {"weight": 10}\n}\n' });
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("<stdin>:/blockIO:3:3: `linux.resources.blockIO` is not supported yet");
        const dev = await oci(h, root, ["update", "--resources", "-", "u"], { stdin: '{"devices": [{"allow": true, "access": "rwm"}]}' });
        expect(dev.stderr).toContain("`linux.resources.devices` cannot be changed by update");
        const blk = await oci(h, root, ["update", "--blkio-weight", "10", "u"]);
        expect([blk.code, blk.stderr]).toEqual([1, "ctr: update --blkio-weight is not supported yet: the blkio controller\n"]);
        expect(file("pids", "pids.max")).toBe("40");
        expect((await oci(h, root, ["kill", "u", "KILL"])).code).toBe(0);
        const deadline = Date.now() + 5000;
        while (JSON.parse((await oci(h, root, ["state", "u"])).stdout).status !== "stopped" && Date.now() < deadline) await Bun.sleep(20);
        const st = await oci(h, root, ["update", "--memory", "64m", "u"]);
        expect([st.code, st.stderr]).toEqual([1, "ctr: container not running\n"]);
      } finally {
        await oci(h, root, ["delete", "--force", "u"]);
      }
    }),
    60_000,
  );
});
