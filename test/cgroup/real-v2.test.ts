// The v2 path against the real cgroup2 hierarchy, as far as this machine has
// one: on a hybrid machine it exists but holds no cpu/memory/pids/cpuset (they
// are bound to v1), so what is exercised for real is the core: mkdir of the
// container's cgroup below ctr's own, a process moved in through cgroup.procs,
// CPU time from cpu.stat, cgroup.kill, rmdir; and the refusal of a limit whose
// controller the tree does not offer. Controller writes are covered by
// v2.test.ts against the fake tree. The machine's top cgroup.subtree_control is
// never written here.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { SysError } from "../../native/error.ts";
import { callerDir, machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { CgroupManager } from "../../runtime/features/cgroup/manager.ts";
import type { CgroupSystem } from "../../runtime/features/cgroup/types.ts";

const IS_ROOT = process.getuid?.() === 0;
const machine = machineCgroups();
const v2 = machine.v2;
const skip = !IS_ROOT || !v2;
if (skip) console.log(`skip: the real cgroup v2 tests need root and a cgroup2 mount (${IS_ROOT ? "none here" : "not root"})`);

/** This machine seen as if it had only its v2 tree. */
const onlyV2: CgroupSystem | null = v2 ? { mode: "v2", v1: {}, v2 } : null;

describe("cgroup v2 (the real hierarchy)", () => {
  test.skipIf(skip)("a process joins the container's v2 cgroup, its CPU time is read, cgroup.kill ends it, rmdir removes the cgroup", async () => {
    const m = new CgroupManager(`realv2-${process.pid}`, onlyV2!);
    const sleeper = Bun.spawn({ cmd: ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 100"] });
    try {
      await m.create([], { accounting: true }, [sleeper.pid]);
      const dir = `${callerDir(v2!)}/${m.name}`;
      expect([...new Set(m.dirs.values())]).toEqual([dir]);
      expect(readFileSync(`${dir}/cgroup.procs`, "utf8").trim()).toBe(String(sleeper.pid));
      expect(readFileSync(`/proc/${sleeper.pid}/cgroup`, "utf8")).toContain(`0::${v2!.callerPath === "/" ? "" : v2!.callerPath}/${m.name}\n`);
      await Bun.sleep(300);
      const u = m.usage();
      expect(u.cpu!.usageNs).toBeGreaterThan(0);
      console.log(`real v2: ${dir}: cpu.stat usage_usec = ${u.cpu!.usageNs! / 1000}`);
      expect(await m.remove()).toEqual([]);
      expect(await sleeper.exited).not.toBe(0); // killed through cgroup.kill
      expect(sleeper.signalCode).toBe("SIGKILL");
      expect(() => readFileSync(`${dir}/cgroup.procs`)).toThrow();
    } finally {
      sleeper.kill("SIGKILL");
      await m.remove();
    }
  });

  test.skipIf(skip)("a limit whose controller the real tree does not offer: 125, naming it, nothing made", async () => {
    if (v2!.controllers.includes("pids")) return; // a real v2 machine offers it: nothing to refuse
    const m = new CgroupManager(`realv2b-${process.pid}`, onlyV2!);
    const e = (await m.create([{ controller: "pids", max: 10 }], {}, []).catch((x: unknown) => x)) as SysError;
    expect(e).toBeInstanceOf(SysError);
    expect(e.status).toBe(125);
    expect(e.message).toContain("the pids controller is not available");
    expect(m.dirs.size).toBe(0);
  });
});
