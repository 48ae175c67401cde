// `pause` and `resume` of an OCI container, for real (as root): a process that
// counts in a file every 50 ms stops counting once paused and counts again
// once resumed; `state` and `list` say "paused" as the freezer reads; exec
// into a paused container and pause of one that is not running are refused as
// runc's; `kill KILL` and `delete --force` of a paused one end it; and the
// host's cgroup directories are as they were afterwards.

import { describe, expect } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { allHierarchies, callerDir, detectCgroups } from "../../runtime/features/cgroup/detect.ts";
import { freezerHierarchy } from "../../runtime/features/cgroup/freezer.ts";
import { itest, onHost, type Host } from "../integration/host-state.ts";
import { bundle, COUNTER, create, gone, oci, until, useRootfs } from "./helpers.ts";

useRootfs();

/** The counter the container's process writes (read through its root). */
function counter(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/root/dev/shm/n`, "utf8").trim() || 0);
  } catch {
    return 0;
  }
}

async function status(h: Host, root: string, id: string): Promise<string> {
  return JSON.parse((await oci(h, root, ["state", id])).stdout).status;
}

/** Every cgroup directory at the top of each hierarchy and below this process's own cgroup: the host's. */
function hostCgroups(): string[] {
  const out = new Set<string>();
  for (const h of allHierarchies(detectCgroups())) for (const d of [h.mount, callerDir(h)]) for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) out.add(`${d}/${e.name}`);
  return [...out].sort();
}

/** The freezer state file of the container's cgroup in the freezer's hierarchy. */
function freezerFile(rec: { held?: { cgroups: string[] } }): string {
  const fh = freezerHierarchy(detectCgroups())!;
  const d = (rec.held?.cgroups ?? []).find((c) => c.startsWith(`${fh.mount}/`));
  expect(d).toBeDefined();
  return fh.version === "v1" ? `${d}/freezer.state` : `${d}/cgroup.events`;
}

describe("pause and resume (the cgroup freezer)", () => {
  itest("the counter stops while paused and runs again once resumed; state and list say paused; exec and a second pause refused; delete --force ends it", () =>
    onHost(async (h) => {
      const before = hostCgroups();
      const work = h.scratch();
      const root = join(work, "root");
      mkdirSync(root);
      const b = await bundle(h, ["sh", "-c", COUNTER]);
      const pid = await create(h, root, b, "p");
      try {
        expect((await oci(h, root, ["start", "p"])).code).toBe(0);
        await until(() => counter(pid) >= 3, "the counter to run");
        const rec = JSON.parse(readFileSync(join(root, "p", "state.json"), "utf8"));
        const file = freezerFile(rec);
        expect((await oci(h, root, ["pause", "p"])).code).toBe(0);
        expect(readFileSync(file, "utf8")).toMatch(/^FROZEN$|^frozen 1$/m);
        expect(JSON.parse((await oci(h, root, ["state", "p"])).stdout)).toMatchObject({ status: "paused", pid });
        expect((await oci(h, root, ["list", "--format", "json"])).stdout).toContain('"status":"paused"');
        // The record is not what says so: it still says running.
        expect(JSON.parse(readFileSync(join(root, "p", "state.json"), "utf8")).status).toBe("running");
        const held = counter(pid);
        await Bun.sleep(400); // eight ticks of the counter
        expect(counter(pid)).toBe(held);
        const ex = await oci(h, root, ["exec", "p", "true"]);
        expect([ex.code, ex.stderr]).toEqual([1, expect.stringContaining("container is paused")]);
        const again = await oci(h, root, ["pause", "p"]);
        expect([again.code, again.stderr]).toEqual([1, "ctr: container not running\n"]);
        expect((await oci(h, root, ["resume", "p"])).code).toBe(0);
        expect(await status(h, root, "p")).toBe("running");
        await until(() => counter(pid) >= held + 3, "the counter to run again");
        const notPaused = await oci(h, root, ["resume", "p"]);
        expect([notPaused.code, notPaused.stderr]).toEqual([1, "ctr: container not paused\n"]);
        // Paused again, then delete --force: thawed so that the SIGKILL takes effect.
        expect((await oci(h, root, ["pause", "p"])).code).toBe(0);
        expect(await status(h, root, "p")).toBe("paused");
        const d = await oci(h, root, ["delete", "p"]);
        expect([d.code, d.stderr]).toEqual([1, "ctr: cannot delete container p that is not stopped: paused\n"]);
        expect((await oci(h, root, ["delete", "--force", "p"])).code).toBe(0);
        await until(() => gone(pid), "PID 1's end");
        expect(existsSync(file)).toBe(false);
      } finally {
        await oci(h, root, ["delete", "--force", "p"]);
      }
      expect(hostCgroups()).toEqual(before);
    }),
    60_000,
  );

  itest("a cgroups path (as podman gives) gets a freezer cgroup too; kill KILL of a paused container ends it; pause of a stopped one is refused", () =>
    onHost(async (h) => {
      const before = hostCgroups();
      const work = h.scratch();
      const root = join(work, "root");
      mkdirSync(root);
      const place = `/ctr-pause-test-${process.pid}/c`;
      const b = await bundle(h, ["sh", "-c", COUNTER], (c) => (c.linux.cgroupsPath = place));
      const pid = await create(h, root, b, "q");
      try {
        expect((await oci(h, root, ["start", "q"])).code).toBe(0);
        await until(() => counter(pid) >= 2, "the counter to run");
        const fh = freezerHierarchy(detectCgroups())!;
        const file = freezerFile(JSON.parse(readFileSync(join(root, "q", "state.json"), "utf8")));
        expect(file.startsWith(`${fh.mount}${place}/`)).toBe(true);
        expect((await oci(h, root, ["pause", "q"])).code).toBe(0);
        expect(await status(h, root, "q")).toBe("paused");
        expect((await oci(h, root, ["kill", "q", "KILL"])).code).toBe(0);
        await until(() => gone(pid), "PID 1's end after kill KILL");
        expect(await status(h, root, "q")).toBe("stopped");
        const p = await oci(h, root, ["pause", "q"]);
        expect([p.code, p.stderr]).toEqual([1, "ctr: container not running\n"]);
        expect((await oci(h, root, ["delete", "q"])).code).toBe(0);
        expect(existsSync(`${fh.mount}${place}`)).toBe(false);
        expect(existsSync(`${fh.mount}/ctr-pause-test-${process.pid}`)).toBe(false);
      } finally {
        await oci(h, root, ["delete", "--force", "q"]);
      }
      expect(hostCgroups()).toEqual(before);
    }),
    60_000,
  );
});
