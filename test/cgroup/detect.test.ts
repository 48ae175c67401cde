// Detection of cgroup v1 / v2 / hybrid and of ctr's own cgroup, from the texts
// of /proc/self/mountinfo and /proc/self/cgroup as the kernel writes them.

import { describe, expect, test } from "bun:test";
import { callerDir, detectCgroups, describeSystem, hierarchyOf, machineCgroups, parseMountinfo } from "../../runtime/features/cgroup/detect.ts";

const none = () => null;

// This machine (hybrid, the caller in a nested memory cgroup).
const HYBRID_MOUNTS = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/f839a0b6
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

describe("detection", () => {
  test("hybrid: controllers in v1, the caller's nested memory cgroup found", () => {
    const sys = detectCgroups({ mountinfo: HYBRID_MOUNTS, procCgroup: HYBRID_CGROUP, readFile: (p) => (p === "/sys/fs/cgroup/unified/cgroup.controllers" ? "hugetlb\n" : null) });
    expect(sys.mode).toBe("hybrid");
    expect(callerDir(sys.v1.memory!)).toBe("/sys/fs/cgroup/memory/process_api/f839a0b6");
    expect(callerDir(sys.v1.cpu!)).toBe("/sys/fs/cgroup/cpu");
    expect(sys.v1.cpuacct!.mount).toBe("/sys/fs/cgroup/cpuacct");
    expect(hierarchyOf(sys, "memory")!.version).toBe("v1");
    expect(sys.v2!.controllers).toEqual(["hugetlb"]);
    expect(describeSystem(sys)).toBe("cgroup v1 (hybrid: the v2 tree at /sys/fs/cgroup/unified has only hugetlb)");
  });

  test("v1 with cpu and cpuacct comounted: one hierarchy for both", () => {
    const sys = detectCgroups({
      mountinfo: "25 18 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n26 18 0:23 / /sys/fs/cgroup/memory rw shared:10 - cgroup cgroup rw,memory\n",
      procCgroup: "3:cpu,cpuacct:/user.slice\n2:memory:/user.slice/user-1000.slice\n",
      readFile: none,
    });
    expect(sys.mode).toBe("v1");
    expect(sys.v1.cpu).toBe(sys.v1.cpuacct!);
    expect(callerDir(sys.v1.cpu!)).toBe("/sys/fs/cgroup/cpu,cpuacct/user.slice");
    expect(callerDir(sys.v1.memory!)).toBe("/sys/fs/cgroup/memory/user.slice/user-1000.slice");
    expect(hierarchyOf(sys, "pids")).toBeNull();
  });

  test("pure v2, nested caller; cpuacct maps to the v2 tree (cpu.stat)", () => {
    const sys = detectCgroups({
      mountinfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
      procCgroup: "0::/user.slice/user-1000.slice/session-2.scope\n",
      readFile: (p) => (p === "/sys/fs/cgroup/cgroup.controllers" ? "cpuset cpu io memory hugetlb pids rdma misc\n" : null),
    });
    expect(sys.mode).toBe("v2");
    expect(callerDir(sys.v2!)).toBe("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
    expect(hierarchyOf(sys, "memory")).toBe(sys.v2!);
    expect(hierarchyOf(sys, "cpuacct")).toBe(sys.v2!);
  });

  test("inside a cgroup namespace or a bind mount: paths relative to the mount's root", () => {
    const sys = detectCgroups({
      mountinfo: "700 600 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n",
      procCgroup: "0::/docker/abc/init\n",
      readFile: () => "cpu memory pids\n",
    });
    expect(callerDir(sys.v2!)).toBe("/sys/fs/cgroup/init");
    const hidden = detectCgroups({ mountinfo: "700 600 0:26 /other /mnt rw - cgroup2 cgroup2 rw\n", procCgroup: "0::/mine\n", readFile: none });
    expect(hidden.mode).toBe("none");
  });

  test("mount points with escaped spaces", () => {
    expect(parseMountinfo("1 2 0:3 / /a\\040b rw - cgroup2 cgroup2 rw\n")[0]!.mountPoint).toBe("/a b");
  });

  test("this machine", () => {
    const sys = machineCgroups();
    console.log(`this machine: ${describeSystem(sys)}`);
    expect(["v1", "v2", "hybrid", "none"]).toContain(sys.mode);
  });
});
