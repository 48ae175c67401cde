// The freezer (runtime/features/cgroup/freezer.ts) against the real
// hierarchies, as root: on this kind of hybrid machine both v1's freezer
// hierarchy and the controller-less cgroup2 tree (whose cgroup.freeze is core,
// needing no controller) exist, so each is exercised for real: a process
// counting in a cgroup of its own stops counting once frozen, counts again
// once thawed; the cgroup is found from /proc/PID/cgroup; the cgroup removed.
// Without one of them the test says so and skips.

import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allHierarchies, callerDir, machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { freeze, freezerHierarchy, freezerOfProc, freezerState, thaw } from "../../runtime/features/cgroup/freezer.ts";
import { realFs } from "../../runtime/features/cgroup/fs.ts";
import type { CgroupSystem, Hierarchy } from "../../runtime/features/cgroup/types.ts";

const IS_ROOT = process.getuid?.() === 0;
const machine = machineCgroups();
const v1 = allHierarchies(machine).find((h) => h.version === "v1" && h.controllers.includes("freezer")) ?? null;
const v2 = machine.v2 ?? null;
const opts = { now: () => performance.now(), sleep: (ms: number) => Bun.sleep(ms) };

/** The machine seen with only `h` (the freezer hierarchy picked is `h`). */
function only(h: Hierarchy): CgroupSystem {
  return h.version === "v2" ? { mode: "v2", v1: {}, v2: h } : { mode: "v1", v1: {}, v2: null, all: [h] };
}

describe("the cgroup freezer (real hierarchies)", () => {
  for (const [name, h] of [["v1 freezer.state", v1], ["v2 cgroup.freeze", v2]] as const) {
    const why = !IS_ROOT ? "not root" : !h ? `no ${name.split(" ")[0]} hierarchy mounted` : "";
    if (why) console.log(`skip: the ${name} test: ${why}`);
    test.skipIf(why !== "")(`${name}: a counting process stops while frozen and goes on once thawed`, async () => {
      const sys = only(h!);
      expect(freezerHierarchy(sys)).toBe(h!);
      const dir = `${callerDir(h!)}/ctr-freezer-test-${process.pid}`;
      const tmp = mkdtempSync(join(tmpdir(), "ctr-fz-"));
      const file = join(tmp, "n");
      const counter = Bun.spawn({ cmd: ["sh", "-c", `i=0; while true; do i=$((i+1)); echo $i > ${file}; sleep 0.02; done`] });
      const count = () => Number(readFileSync(file, "utf8").trim() || "0");
      mkdirSync(dir);
      try {
        writeFileSync(`${dir}/cgroup.procs`, String(counter.pid));
        expect(freezerOfProc(sys, readFileSync(`/proc/${counter.pid}/cgroup`, "utf8"))).toBe(dir);
        await Bun.sleep(150);
        expect(freezerState(realFs, dir)).toBe("thawed");
        expect(await freeze(realFs, dir, opts)).toBe(true);
        expect(freezerState(realFs, dir)).toBe("frozen");
        const at = count();
        await Bun.sleep(300);
        expect(count()).toBe(at);
        thaw(realFs, dir);
        expect(freezerState(realFs, dir)).toBe("thawed");
        // Read until it has gone on (a read may meet the file truncated by the next echo: 0).
        const end = performance.now() + 5000;
        while (count() <= at + 3 && performance.now() < end) await Bun.sleep(20);
        expect(count()).toBeGreaterThan(at + 3);
      } finally {
        counter.kill("SIGKILL");
        try {
          thaw(realFs, dir);
        } catch {
          // never made
        }
        await counter.exited;
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") break;
            await Bun.sleep(10);
          }
        }
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }

  test("freezerOfProc: the v1 freezer line, else v2's 0:: line; none without a freezer hierarchy", () => {
    const fz: Hierarchy = { version: "v1", mount: "/sys/fs/cgroup/freezer", controllers: ["freezer"], callerPath: "/" };
    const u: Hierarchy = { version: "v2", mount: "/sys/fs/cgroup/unified", controllers: [], callerPath: "/" };
    const text = "12:pids:/a\n6:freezer:/ctr-x\n1:name=systemd:/s\n0::/user.slice/ctr-y\n";
    expect(freezerOfProc({ mode: "hybrid", v1: {}, v2: u, all: [fz, u] }, text)).toBe("/sys/fs/cgroup/freezer/ctr-x");
    expect(freezerOfProc({ mode: "hybrid", v1: {}, v2: u, all: [u] }, text)).toBe("/sys/fs/cgroup/unified/user.slice/ctr-y");
    expect(freezerOfProc({ mode: "v2", v1: {}, v2: u }, "0::/\n")).toBe("/sys/fs/cgroup/unified");
    expect(freezerOfProc({ mode: "v1", v1: {}, v2: null, all: [] }, text)).toBe(null);
  });
});
