// The host's cgroup work against a RecordingSys (native/recording.ts): no root, no cgroupfs.
// The manager reaches cgroupfs through cgroupFs(sys) (runtime/features/cgroup/fs.ts), the
// tracking cgroup, the OOM scores and stage 1's leaving through the seam's calls directly;
// each test reads the calls made, in order (effects(): look-ups such as readFile and exists
// are left out), for a typical case and for one that fails.

import { describe, expect, test } from "bun:test";
import { O_RDONLY, O_WRONLY, SysError } from "../../native/index.ts";
import { RecordingSys } from "../../native/recording.ts";
import { cgroupFs } from "../../runtime/features/cgroup/fs.ts";
import { leave, prepareLeave } from "../../runtime/features/cgroup/leave.ts";
import { CgroupManager, sweepStaleCgroups } from "../../runtime/features/cgroup/manager.ts";
import { setCommandScore, setInitScore, oomScorePlan } from "../../runtime/features/cgroup/oom.ts";
import { StartOomScore } from "../../runtime/features/cgroup/oomscore.ts";
import { makeTracking } from "../../runtime/features/cgroup/track.ts";
import type { CgroupLimit, CgroupSystem } from "../../runtime/features/cgroup/types.ts";

const TOP = "/sys/fs/cgroup";
const DIR = `${TOP}/ctr-t-1`;
const SELF = 10;
const STAGE1 = 11;
const MEM32: CgroupLimit = { controller: "memory", bytes: 32 * 1024 * 1024, swapBytes: null };
const V2: CgroupSystem = { mode: "v2", v1: {}, v2: { version: "v2", mount: TOP, controllers: ["cpu", "memory", "pids"], callerPath: "/" } };

/** A v2 machine with ctr in the top cgroup, and a manager for container "t-1" on it. */
function v2(kills: number[] = []): { sys: RecordingSys; m: CgroupManager } {
  const sys = new RecordingSys().text(`${TOP}/cgroup.controllers`, "cpu memory pids").text(`${TOP}/cgroup.subtree_control`, "").text(`${TOP}/cgroup.procs`, `${SELF}\n`);
  // SIGKILL as the kernel would answer it: the process leaves the container's cgroup.
  const kill = (pid: number) => {
    kills.push(pid);
    if (sys.exists(`${DIR}/cgroup.procs`)) sys.text(`${DIR}/cgroup.procs`, "");
  };
  const m = new CgroupManager("t-1", V2, { fs: cgroupFs(sys), selfPid: SELF, sleep: async () => {}, kill });
  return { sys, m };
}

describe("the container's cgroups (CgroupManager through the seam)", () => {
  test("create: the controller enabled at the top, the cgroup made 0755, the limit written, stage 1 joined", async () => {
    const { sys, m } = v2();
    await m.create([MEM32], {}, [STAGE1]);
    expect(sys.effects()).toEqual([
      `write("${TOP}/cgroup.subtree_control", "+memory")`,
      `mkdir("${DIR}", 0755)`,
      `write("${DIR}/memory.max", "33554432")`,
      `write("${DIR}/memory.swap.max", "0")`,
      `write("${DIR}/cgroup.procs", "${STAGE1}")`,
    ]);
  });

  test("create: a refused limit names the file and the value, and the cgroup just made is removed", async () => {
    const { sys, m } = v2();
    sys.fail("write", "EINVAL", (a) => a[0] === `${DIR}/memory.max`);
    const err = await m.create([MEM32], {}, [STAGE1]).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).message).toBe(`cannot write "33554432" to ${DIR}/memory.max: EINVAL (invalid argument)`);
    expect((err as SysError).status).toBe(125);
    expect(sys.effects().slice(-2)).toEqual([`write("${DIR}/memory.max", "33554432")`, `rmdir("${DIR}")`]);
    expect(sys.exists(DIR)).toBe(false);
  });

  test("apply (a live `limit`): the controller enabled, the new limit written into the existing cgroup", async () => {
    const { sys, m } = v2();
    await m.create([MEM32], {}, [STAGE1]);
    const before = sys.effects().length;
    m.apply({ controller: "pids", max: 10 });
    expect(sys.effects().slice(before)).toEqual([`write("${TOP}/cgroup.subtree_control", "+pids")`, `write("${DIR}/pids.max", "10")`]);
  });

  test("remove: what is left is killed through cgroup.kill, then the cgroup goes", async () => {
    const kills: number[] = [];
    const { sys, m } = v2(kills);
    await m.create([MEM32], {}, [STAGE1]);
    sys.text(`${DIR}/cgroup.procs`, "4242\n").text(`${DIR}/cgroup.kill`, "");
    sys.on("write", (a) => void (a[0] === `${DIR}/cgroup.kill` && sys.text(`${DIR}/cgroup.procs`, "")));
    const before = sys.effects().length;
    expect(await m.remove()).toEqual([]);
    expect(sys.effects().slice(before)).toEqual([`write("${DIR}/cgroup.kill", "1")`, `rmdir("${DIR}")`]);
    expect(kills).toEqual([]);
  });

  test("remove: a refused cgroup.kill falls back to SIGKILL one by one; a cgroup that stays busy is reported", async () => {
    const kills: number[] = [];
    const { sys, m } = v2(kills);
    await m.create([MEM32], {}, [STAGE1]);
    sys.text(`${DIR}/cgroup.procs`, "4242\n").text(`${DIR}/cgroup.kill`, "");
    sys.fail("write", "EACCES", (a) => a[0] === `${DIR}/cgroup.kill`).fail("rmdir", "EBUSY");
    const problems = await m.remove(50);
    expect(kills).toEqual([4242]);
    expect(problems).toEqual([`cannot remove ${DIR}: rmdir("${DIR}"): EBUSY (device or resource busy)`]);
    const failed = sys.calls.filter((c) => c.error).map((c) => `${c.name} ${c.error}`);
    expect([...new Set(failed)]).toEqual(["write EACCES", "rmdir EBUSY"]);
    expect(failed.length).toBeGreaterThan(2); // EBUSY is retried while killed tasks drain, until the deadline
  });
});

describe("stale cgroups (sweepStaleCgroups)", () => {
  const STALE = `${TOP}/ctr-old-99999999`; // no such pid: its ctr is gone

  test("a cgroup whose ctr is gone: cgroup.kill, then rmdir", () => {
    const sys = new RecordingSys({ [STALE]: "dir" }).text(`${STALE}/cgroup.kill`, "");
    expect(sweepStaleCgroups(V2, cgroupFs(sys))).toEqual([STALE]);
    expect(sys.effects()).toEqual([`write("${STALE}/cgroup.kill", "1")`, `rmdir("${STALE}")`]);
  });

  test("one still busy is left for the next sweep", () => {
    const sys = new RecordingSys({ [STALE]: "dir" }).fail("rmdir", "EBUSY");
    expect(sweepStaleCgroups(V2, cgroupFs(sys))).toEqual([]);
    expect(sys.effectNames()).toEqual(["rmdir"]);
  });
});

describe("the tracking cgroup (makeTracking)", () => {
  test("one mkdir below ctr's own cgroup, 0755", () => {
    const sys = new RecordingSys({ [TOP]: "dir" });
    expect(makeTracking("t-1", sys, V2)).toEqual({ hierarchy: V2.v2!, dir: DIR });
    expect(sys.effects()).toEqual([`mkdir("${DIR}", 0755)`]);
  });

  test("a refused mkdir (rootless, no delegated cgroup) is no tracking cgroup, not an error", () => {
    const sys = new RecordingSys({ [TOP]: "dir" }).fail("mkdir", "EACCES");
    expect(makeTracking("t-1", sys, V2)).toBeNull();
    expect(sys.calls.map((c) => `${c.name} ${c.error ?? ""}`)).toEqual(["mkdir EACCES"]);
  });
});

describe("stage 1 leaving its cgroups when ctr was killed (prepareLeave, leave)", () => {
  test("opened before unshare; then out of the cgroup, fchdir to its parent and rmdir of the bare name", () => {
    const sys = new RecordingSys({ [DIR]: "dir", [`${TOP}/cgroup.procs`]: "file" });
    const plan = prepareLeave([DIR], sys);
    expect(plan.steps).toEqual([{ name: "ctr-t-1", parent: 100, procs: 101 }]);
    sys.on("rmdir", () => undefined); // relative to the fchdir: the kernel's answer, success
    expect(leave(plan)).toBe(0);
    expect(sys.effects()).toEqual([
      `open("${TOP}", ${formatOpen(O_RDONLY)})`,
      `open("${TOP}/cgroup.procs", ${formatOpen(O_WRONLY)})`,
      `write(101, "${process.pid}")`,
      "fchdir(100)",
      'rmdir("ctr-t-1")',
      "close(100)",
      "close(101)",
    ]);
  });

  test("a cgroup that stays busy is counted, and the descriptors are closed all the same", () => {
    const sys = new RecordingSys({ [DIR]: "dir" }).fail("rmdir", "EBUSY");
    const plan = prepareLeave([DIR], sys);
    expect(plan.steps).toEqual([{ name: "ctr-t-1", parent: 100, procs: -1 }]); // no cgroup.procs to write
    expect(leave(plan, 0)).toBe(1);
    expect(sys.effectNames().filter((n) => n !== "rmdir" && n !== "fchdir")).toEqual(["open", "open", "close"]);
  });
});

function formatOpen(flags: number): string {
  return flags === O_RDONLY ? "O_RDONLY" : "O_WRONLY";
}

describe("OOM scores", () => {
  const SCORE = "/proc/self/oom_score_adj";

  test("the host: stage 1 raised for its commands, the init stages set once PID 1 is up", () => {
    const sys = new RecordingSys().text(SCORE, "0\n").text("/proc/self/status", "CapEff:\t0000000000000000\n");
    const plan = oomScorePlan(sys);
    expect(plan).toEqual({ commands: 1000, init: 0 });
    setCommandScore(plan, 4242, sys);
    setInitScore(plan, [4242, 4243], sys);
    expect(sys.effects()).toEqual(['write("/proc/4242/oom_score_adj", "1000")', 'write("/proc/4242/oom_score_adj", "0")', 'write("/proc/4243/oom_score_adj", "0")']);
  });

  test("the host: a refused score (the process gone) is passed over", () => {
    const sys = new RecordingSys().text(SCORE, "0\n").fail("write", "ESRCH", (a) => a[0] === "/proc/4242/oom_score_adj");
    setInitScore({ commands: 0, init: -1000 }, [4242, 4243], sys);
    expect(sys.calls.map((c) => `${c.call}${c.error ? ` = ${c.error}` : ""}`)).toEqual(['write("/proc/4242/oom_score_adj", "-1000") = ESRCH', 'write("/proc/4243/oom_score_adj", "-1000")']);
  });

  test("PID 1: a command spawned with the score PID 1 started with, PID 1's own put back after", () => {
    const sys = new RecordingSys().text(SCORE, "1000\n");
    const score = new StartOomScore(sys);
    sys.text(SCORE, "0\n"); // the host set the init stages' score once PID 1 was up
    let during = "";
    expect(score.around(() => (during = sys.effects().at(-1)!, 7))).toBe(7);
    expect(during).toBe(`pwrite(100, "1000", 0)`);
    expect(sys.effects()).toEqual([`open("${SCORE}", O_RDWR)`, 'pwrite(100, "1000", 0)', 'pwrite(100, "0", 0)']);
    score.take();
    expect(sys.effects().at(-1)).toBe('pwrite(100, "1000", 0)');
  });

  test("PID 1: without the score file (no /proc) the command just starts", () => {
    const sys = new RecordingSys();
    const score = new StartOomScore(sys);
    expect(score.around(() => 7)).toBe(7);
    score.take();
    expect(sys.calls.map((c) => `${c.name} ${c.error ?? ""}`)).toEqual(["open ENOENT"]);
  });
});
