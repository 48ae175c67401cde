// The REPL's `:detach [NAME]` on the real kernel (issue 15, item 4): the
// container stays, under NAME, supervised by its stage 1
// (runtime/features/lifecycle/repl-detach.ts), and is seen and ended from
// outside with the lifecycle commands. Needs root.
// Each test kills only processes it started itself, and names its containers
// `repl-...-PID` so that parallel runs do not meet.

import { describe, expect } from "bun:test";
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENTS, itest, type Host } from "../integration/host-state.ts";
import { sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import { onReplHost, PipeRepl } from "./driver.ts";

const STATE_ROOT = "/run/ctr";
let seq = 0;
const uniq = (what: string) => `repl-${what}-${process.pid}-${seq++}`;

interface State {
  id: string;
  status: string;
  exitStatus?: number | null;
  supervisor: { pid: number; start: number } | null;
  pid1: { pid: number; start: number } | null;
  cgroups: string[];
  detached: boolean;
}

async function inspect(h: Host, name: string): Promise<State> {
  const r = await h.ctr(["inspect", name]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as State;
}

/** The container's cgroup directories, in every hierarchy (as `ls -d /sys/fs/cgroup/*\/ctr*` finds them). */
function cgroupsOf(id: string): string[] {
  return CGROUP_PARENTS.flatMap((p) => {
    try {
      return readdirSync(p).filter((n) => n === id || n === `${id}-host`).map((n) => join(p, n));
    } catch {
      return [];
    }
  });
}

/** A REPL that makes a container and detaches it as `name`; it must have ended, exit 0, the name on stdout. */
async function detached(h: Host, name: string, input: string): Promise<{ state: State; repl: PipeRepl }> {
  const r = new PipeRepl(h, ["-q"]);
  r.send(`${input}\n:detach ${name}`);
  // stdin stays open: the session ends by itself, not at EOF.
  const code = await Promise.race([r.proc.exited, Bun.sleep(20_000).then(() => "still running")]);
  await r.close().catch(() => {});
  expect(r.err).toBe("");
  expect(r.out.split("\n")).toContain(name);
  expect(code).toBe(0);
  expect(r.proc.exitCode).not.toBeNull();
  return { state: await inspect(h, name), repl: r };
}

describe("REPL :detach", () => {
  itest("the container runs on under its name: ps, exec, logs, stop (status recorded), rm (nothing left)", () =>
    onReplHost(async (h) => {
      const name = uniq("web");
      const { state: s } = await detached(h, name, 'ns uts, pid, mnt\nhostname "rd-box"\nmount proc\nlimit pids 64\nrun echo in-the-session');
      expect(s.status).toBe("running");
      expect(s.detached).toBe(true);
      // Its supervisor is its stage 1: PID 1's parent, alive after the REPL's end.
      expect(sameProcess(s.supervisor)).toBe(true);
      expect(sameProcess(s.pid1)).toBe(true);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${s.pid1!.pid}/status`, "utf8"))?.[1]);
      expect(ppid).toBe(s.supervisor!.pid);
      // PID 1's and stage 1's stdout and stderr are the log now, their stdin /dev/null: not the REPL's pipes.
      for (const p of [s.pid1!.pid, s.supervisor!.pid]) {
        expect([1, 2].map((fd) => readlinkSync(`/proc/${p}/fd/${fd}`))).toEqual([join(STATE_ROOT, name, "log"), join(STATE_ROOT, name, "log")]);
        expect(readlinkSync(`/proc/${p}/fd/0`)).toBe("/dev/null");
      }
      const cg = cgroupsOf(s.id);
      expect(cg.length).toBeGreaterThan(0);

      const ps = await h.ctr(["ps"]);
      expect(ps.stdout).toMatch(new RegExp(`^${name}\\s+Up `, "m"));
      // `ctr ps` swept: the REPL (whose PID the container's id ends in) is gone, yet its directory and cgroups stay.
      expect(cgroupsOf(s.id)).toEqual(cg);
      expect(existsSync(join(STATE_ROOT, s.id))).toBe(true);

      const ex = await h.ctr(["exec", name, "hostname"]);
      expect(ex).toMatchObject({ code: 0, stdout: "rd-box\n" });
      const pid1 = await h.ctr(["exec", name, "sh", "-c", "ls /proc; tr '\\0' ' ' < /proc/1/cmdline"]);
      expect(pid1.stdout.split("\n")).toContain("1");
      expect(pid1.stdout).toContain("stage2"); // ctr's agent is the container's PID 1

      const stop = await h.ctr(["stop", "-t", "5", name]);
      expect(stop).toMatchObject({ code: 0, stdout: `${name}\n` });
      const after = await inspect(h, name);
      expect(after.status).toBe("stopped");
      expect(after.exitStatus).toBe(143); // SIGTERM, which PID 1 handles: 128+15
      // Stage 1 removed the cgroups and the per-container directory before it recorded the end, then exited.
      expect(cgroupsOf(s.id)).toEqual([]);
      expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
      expect(sameProcess(s.supervisor)).toBe(false);
      expect(sameProcess(s.pid1)).toBe(false);
      expect((await h.ctr(["logs", name])).code).toBe(0);

      const rm = await h.ctr(["rm", name]);
      expect(rm).toMatchObject({ code: 0, stdout: `${name}\n` });
      expect(existsSync(join(STATE_ROOT, name))).toBe(false);
      // onReplHost then checks mounts, processes, and every directory and cgroup named after the REPL.
    }),
  );

  itest("a taken name is refused and the session goes on; so is a bad one; then another name works", () =>
    onReplHost(async (h) => {
      const taken = uniq("taken");
      const { state: first } = await detached(h, taken, 'ns uts, pid\nhostname "first"');
      const r = new PipeRepl(h, ["-q"]);
      let at = r.send(`ns uts, pid\nhostname "second"\n:detach ${taken}`);
      await r.expectErr(/is taken by another container/, at.err);
      expect(r.err).toContain(`the name "${taken}" is taken by another container`);
      at = r.send(":detach ctr-abc-1");
      await r.expectErr(/invalid container name/, at.err);
      at = r.send("run hostname");
      await r.expectOut(/^second$/m, at.out); // the same container, still the session's
      expect(r.proc.exitCode).toBeNull();
      // The first container was not touched.
      expect((await h.ctr(["exec", taken, "hostname"])).stdout).toBe("first\n");
      const other = uniq("other");
      r.send(`:detach ${other}`);
      expect(await r.close()).toBe(2); // the session's earlier refusals
      expect(r.out.split("\n")).toContain(other);
      expect((await h.ctr(["exec", other, "hostname"])).stdout).toBe("second\n");
      const s2 = await inspect(h, other);
      for (const n of [taken, other]) expect(await h.ctr(["rm", "-f", n])).toMatchObject({ code: 0 });
      for (const s of [first, s2]) {
        expect(sameProcess(s.supervisor)).toBe(false);
        expect(sameProcess(s.pid1)).toBe(false);
        expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
        expect(cgroupsOf(s.id)).toEqual([]);
      }
    }),
  );

  itest("refused with the reason, the session going on: no container yet, a user namespace", () =>
    onReplHost(async (h) => {
      const r = new PipeRepl(h, ["-q"]);
      let at = r.send(":detach early");
      await r.expectErr(/there is no container to detach yet/, at.err);
      at = r.send('ns user, uts, pid\nhostname "u"\n:detach withuser');
      await r.expectErr(/`:detach` is not supported yet for this container: it has a user namespace/, at.err);
      at = r.send("run hostname");
      await r.expectOut(/^u$/m, at.out);
      expect(await r.close()).toBe(2);
      expect(existsSync(join(STATE_ROOT, "withuser"))).toBe(false);
    }),
  );
});
