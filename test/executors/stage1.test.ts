// Stage 1's steps before PID 1 (runtime/features/ns/unshare.ts, as runtime/init.ts runs them)
// against a RecordingSys: joining the cgroups, unshare and the private mount tree, the
// mapped ids. Root-free: nothing here reaches the kernel.

import { describe, expect, test } from "bun:test";
import { SysError } from "../../native/index.ts";
import { RecordingSys } from "../../native/recording.ts";
import { joinCgroups, takeMappedIds, unshareNamespaces } from "../../runtime/features/ns/unshare.ts";

const CG = "/sys/fs/cgroup/ctr-t-1";

describe("joining the container's cgroups", () => {
  test("cgroup.procs of each opened without O_CREAT, stage 1's pid written once, closed", () => {
    const sys = new RecordingSys({ [`${CG}/cgroup.procs`]: "file" });
    joinCgroups(sys, [CG], 4242);
    expect(sys.effects()).toEqual([`open("${CG}/cgroup.procs", O_WRONLY)`, 'write(100, "4242")', "close(100)"]);
  });

  test("a cgroup that is gone: the error names it, status 125, nothing written", () => {
    const sys = new RecordingSys();
    let err: unknown;
    try {
      joinCgroups(sys, [CG], 4242);
    } catch (e) {
      err = e;
    }
    expect((err as SysError).message).toStartWith(`cannot join the container's cgroup "${CG}": `);
    expect((err as SysError).code).toBe("ENOENT");
    expect((err as SysError).status).toBe(125);
    expect(sys.effectNames()).toEqual(["open"]);
  });
});

describe("unshare", () => {
  test("one unshare of every namespace, then the mount tree made private; the trace starts just before", () => {
    const sys = new RecordingSys({ "/proc/self/task/7": "dir" });
    let tracedFrom = -1;
    unshareNamespaces(sys, ["user", "uts", "pid", "mnt"], () => (tracedFrom = sys.calls.length));
    expect(sys.calls.map((c) => c.call)).toEqual(['readdir("/proc/self/task")', "unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWUSER|CLONE_NEWPID)", 'mount(NULL, "/", NULL, MS_REC|MS_PRIVATE)']);
    expect(tracedFrom).toBe(1); // the thread count is bookkeeping, unshare is the script's
  });

  test("a user namespace from a process with helper threads is refused before unshare", () => {
    const sys = new RecordingSys({ "/proc/self/task/7": "dir", "/proc/self/task/8": "dir" });
    expect(() => unshareNamespaces(sys, ["user"])).toThrow("unshare(CLONE_NEWUSER) needs a single-threaded process, but stage 1 has 2 threads");
    expect(sys.effects()).toEqual([]);
  });

  test("without `ns mnt` no mount; an unshare refused is the error, with its errno", () => {
    const sys = new RecordingSys().fail("unshare", "EPERM");
    expect(() => unshareNamespaces(sys, ["uts"])).toThrow("unshare(CLONE_NEWUTS): EPERM");
    expect(sys.effectNames()).toEqual(["unshare"]);
  });
});

describe("taking the mapped ids", () => {
  test("setgroups allowed: groups emptied, then gid, then uid", () => {
    const sys = new RecordingSys().text("/proc/self/setgroups", "allow\n");
    takeMappedIds(sys, 0, 0);
    expect(sys.effects()).toEqual(["setgroups(0, [])", "setresgid(0, 0, 0)", "setresuid(0, 0, 0)"]);
  });

  test("setgroups denied (an unprivileged map): no setgroups; a refused setresgid stops before the uid", () => {
    const sys = new RecordingSys().text("/proc/self/setgroups", "deny\n").fail("setresgid", "EINVAL");
    expect(() => takeMappedIds(sys, 0, 0)).toThrow(SysError);
    expect(sys.effectNames()).toEqual(["setresgid"]);
  });
});
