// An OCI config's `linux.cgroupsPath` as the cgroup manager's `path`
// placement, against the fake v2 hierarchy (test/cgroup/fakefs.ts): the
// missing parents made top down with the controllers enabled along the way,
// the container's cgroup at the path, and at the end the container's cgroup
// removed, the parents made for it only while empty. And `mount cgroup`'s
// choice of what to bind, or with `ns cgroup` to mount anew
// (runtime/features/mount/cgroupfs.ts), from the texts of
// /proc/self/mountinfo and /proc/self/cgroup.

import { afterEach, describe, expect, test } from "bun:test";
import { detectCgroups } from "../../runtime/features/cgroup/detect.ts";
import { CgroupManager } from "../../runtime/features/cgroup/manager.ts";
import type { CgroupLimit } from "../../runtime/features/cgroup/types.ts";
import { cgroupBinds, cgroupHierarchies } from "../../runtime/features/mount/cgroupfs.ts";
import { FakeCgroup2, type FakeOp } from "./fakefs.ts";

const SELF = 1000;
const STAGE1 = 4242;
const PIDS10: CgroupLimit = { controller: "pids", max: 10 };

let fake: FakeCgroup2 | null = null;
afterEach(() => {
  fake?.cleanup();
  fake = null;
});

function setup(path: string): { fake: FakeCgroup2; m: CgroupManager } {
  fake = new FakeCgroup2();
  fake.place(fake.root, SELF);
  fake.place(fake.root, STAGE1);
  const f = fake;
  const sys = detectCgroups({ ...f.procTexts("/"), readFile: (p) => (f.exists(p) ? f.read(p) : null) });
  return { fake: f, m: new CgroupManager("test-1", sys, { fs: f, selfPid: SELF, sleep: async () => {}, kill: () => {}, path }) };
}

const w = (path: string, value: string): FakeOp => ({ op: "write", path, value });

describe("cgroupsPath placement (fake v2 hierarchy)", () => {
  test("an absolute path: parents made, controllers enabled down to it, stage 1 joined there; parents removed once empty", async () => {
    const { fake, m } = setup("/machine/pods/box-1");
    await m.create([PIDS10], {}, [STAGE1]);
    expect(fake.ops).toEqual([
      { op: "mkdir", path: "/machine" },
      { op: "mkdir", path: "/machine/pods" },
      w("/cgroup.subtree_control", "+pids"),
      w("/machine/cgroup.subtree_control", "+pids"),
      w("/machine/pods/cgroup.subtree_control", "+pids"),
      { op: "mkdir", path: "/machine/pods/box-1" },
      w("/machine/pods/box-1/pids.max", "10"),
      w("/machine/pods/box-1/cgroup.procs", String(STAGE1)),
    ]);
    expect(m.parentsMade).toEqual([`${fake.root}/machine`, `${fake.root}/machine/pods`]);
    expect(await m.remove()).toEqual([]);
    expect(fake.tree()).toEqual(["/"]);
  });

  test("a parent made for the path stays while another container's cgroup is below it", async () => {
    const { fake, m } = setup("/machine/box-1");
    await m.create([], { isolate: { hierarchies: [m.sys.v2!], required: true } }, [STAGE1]);
    fake.setupDir(`${fake.root}/machine/box-2`); // another container placed below the same parent meanwhile
    expect(await m.remove()).toEqual([]);
    expect(fake.tree()).toEqual(["/", "/machine", "/machine/box-2"]);
  });
});

describe("mount cgroup: what is bound", () => {
  const v1 = [
    "30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755",
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
    "32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct",
    "33 30 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids",
    "34 30 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,xattr,name=systemd",
    "35 30 0:31 /inner /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory",
    "40 25 0:40 / /proc rw,nosuid,nodev,noexec,relatime shared:15 - proc proc rw",
  ].join("\n");
  const cgroup = ["5:name=systemd:/c1", "4:memory:/inner/c1", "3:pids:/c1", "2:cpu,cpuacct:/c1", "1:freezer:/c1", "0::/c1"].join("\n");

  test("v1 and hybrid: each v1 hierarchy below /sys/fs/cgroup at PID 1's cgroup in it, from the mount's root; the v2 tree and unmounted hierarchies left out", () => {
    expect(cgroupBinds(v1, cgroup)).toEqual([
      { name: "cpu,cpuacct", source: "/sys/fs/cgroup/cpu,cpuacct/c1" },
      { name: "pids", source: "/sys/fs/cgroup/pids/c1" },
      { name: "systemd", source: "/sys/fs/cgroup/systemd/c1" },
      { name: "memory", source: "/sys/fs/cgroup/memory/c1" },
    ]);
  });

  test("with ns cgroup: each hierarchy mounted anew with its controllers (or name=), v1 first; v2 alone on DST", () => {
    expect(cgroupHierarchies(v1)).toEqual([
      { name: "cpu,cpuacct", fstype: "cgroup", options: ["cpu", "cpuacct"] },
      { name: "pids", fstype: "cgroup", options: ["pids"] },
      { name: "systemd", fstype: "cgroup", options: ["xattr", "name=systemd"] },
      { name: "memory", fstype: "cgroup", options: ["memory"] },
    ]);
    expect(cgroupHierarchies("30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate")).toEqual([{ name: "", fstype: "cgroup2", options: [] }]);
  });

  test("v2 alone: the container's cgroup on DST itself; a cgroup outside the mount's root (a cgroup namespace's view) is never bound", () => {
    const v2 = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate";
    expect(cgroupBinds(v2, "0::/machine/box-1\n")).toEqual([{ name: "", source: "/sys/fs/cgroup/machine/box-1" }]);
    const ns = "30 25 0:26 /../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    expect(cgroupBinds(ns, "0::/\n")).toEqual([]);
  });
});
