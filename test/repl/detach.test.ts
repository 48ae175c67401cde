// The REPL's `:detach [NAME]` on the real kernel (issue 15, item 4): the
// container stays, under NAME, supervised by its stage 1
// (runtime/features/lifecycle/repl-detach.ts), and is seen and ended from
// outside with the lifecycle commands. Needs root.
// Each test kills only processes it started itself, and names its containers
// `repl-...-PID` so that parallel runs do not meet.

import { describe, expect } from "bun:test";
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENTS, itest, type Host } from "../integration/host-state.ts";
import { processRef, sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import { onReplHost, PipeRepl, TermRepl } from "./driver.ts";
import type { ContainerState } from "../../runtime/features/lifecycle/store.ts";

const STATE_ROOT = "/run/ctr";
let seq = 0;
const uniq = (what: string) => `repl-${what}-${process.pid}-${seq++}`;

/** A container's record (state.json), as the tests read it. */
type State = ContainerState;

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

/** onReplHost, and whatever container a failed test left detached is removed (`ctr rm -f`) before the host is checked. */
function onDetachHost(fn: (h: Host, names: string[]) => Promise<void>): Promise<void> {
  return onReplHost(async (h) => {
    const names: string[] = [];
    try {
      await fn(h, names);
    } finally {
      for (const n of names) await h.ctr(["rm", "-f", n]);
    }
  });
}

/** Nothing of the container is left: its directory, cgroups, stage 1 and PID 1. */
function assertGone(s: State): void {
  expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
  expect(cgroupsOf(s.id)).toEqual([]);
  expect(sameProcess(s.supervisor)).toBe(false);
  expect(sameProcess(s.pid1)).toBe(false);
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

  itest("refused with the reason, the session going on: no container yet, a user namespace whose root is another host user", () =>
    onDetachHost(async (h) => {
      const r = new PipeRepl(h, ["-q"]);
      let at = r.send(":detach early");
      await r.expectErr(/there is no container to detach yet/, at.err);
      at = r.send('ns user, uts, pid; map uid 0 100000 1; map gid 0 100000 1\nhostname "u"\n:detach withuser');
      await r.expectErr(/`:detach` is not supported yet for this container: its stage 1, which would supervise it, is host uid 100000/, at.err);
      at = r.send("run hostname");
      await r.expectOut(/^u$/m, at.out);
      expect(await r.close()).toBe(2);
      expect(existsSync(join(STATE_ROOT, "withuser"))).toBe(false);
    }),
  );

  itest("with a user namespace whose root is root: exec joins it, stop and rm as without", () =>
    onDetachHost(async (h, names) => {
      const name = uniq("userns");
      names.push(name);
      const { state: s } = await detached(h, name, 'ns user, uts, pid, mnt\nhostname "un-box"\nmount proc');
      expect((await h.ctr(["exec", name, "sh", "-c", "hostname; readlink /proc/self/ns/user"])).stdout).toBe(`un-box\n${readlinkSync(`/proc/${s.pid1!.pid}/ns/user`)}\n`);
      expect((await h.ctr(["stop", name])).code).toBe(0);
      expect((await inspect(h, name)).exitStatus).toBe(143);
      expect((await h.ctr(["rm", name])).code).toBe(0);
      assertGone(s);
    }),
  );

  itest("without `ns pid`: stage 1 still reaps, and the background processes end with the container", () =>
    onDetachHost(async (h, names) => {
      const name = uniq("nopid");
      names.push(name);
      const r = new PipeRepl(h, ["-q"]);
      const at = r.send(`ns uts, mnt\nhostname "np-box"\nrun sh -c 'sleep 1000 >/dev/null 2>&1 & echo bg=$!'`);
      const bg = Number((await r.expectOut(/bg=(\d+)/, at.out))[1]); // a host PID: no PID namespace
      const bgRef = processRef(bg);
      expect(bgRef).not.toBeNull();
      r.send(`:detach ${name}`);
      expect(await Promise.race([r.proc.exited, Bun.sleep(20_000).then(() => "still running")])).toBe(0);
      await r.close().catch(() => {});
      const s = await inspect(h, name);
      expect(sameProcess(bgRef)).toBe(true); // the session's end did not take it
      expect((await h.ctr(["exec", name, "hostname"])).stdout).toBe("np-box\n");
      expect((await h.ctr(["stop", "-t", "5", name])).code).toBe(0);
      expect((await inspect(h, name)).exitStatus).toBe(143);
      expect(sameProcess(bgRef)).toBe(false); // killed by stage 1, its subreaper
      expect((await h.ctr(["rm", name])).code).toBe(0);
      assertGone(s);
    }),
  );

  itest("PID 1 SIGKILLed from the host: recorded (137), torn down; the supervisor SIGKILLed: PID 1 dies with it, the next ctr sweeps", () =>
    onDetachHost(async (h, names) => {
      const a = uniq("kill1");
      const b = uniq("killsup");
      names.push(a, b);
      const { state: sa } = await detached(h, a, 'ns uts, pid, mnt\nlimit pids 64');
      process.kill(sa.pid1!.pid, "SIGKILL"); // PID 1 of this test's own container
      for (let i = 0; i < 200 && sameProcess(sa.supervisor); i++) await Bun.sleep(25);
      const after = await inspect(h, a);
      expect(after).toMatchObject({ status: "stopped", exitStatus: 137 });
      assertGone(sa);

      const { state: sb } = await detached(h, b, 'ns uts, pid, mnt\nlimit pids 64');
      expect(cgroupsOf(sb.id).length).toBeGreaterThan(0);
      process.kill(sb.supervisor!.pid, "SIGKILL"); // its stage 1, which this test's REPL started
      for (let i = 0; i < 200 && sameProcess(sb.pid1); i++) await Bun.sleep(25);
      expect(sameProcess(sb.pid1)).toBe(false); // its parent-death signal
      const ps = await h.ctr(["ps", "-a"]);
      expect(ps.stdout).toMatch(new RegExp(`^${b}\\s+Exited \\(unknown\\) its supervisor was killed`, "m"));
      for (const n of [a, b]) expect((await h.ctr(["rm", n])).code).toBe(0);
      assertGone(sb);
    }),
  );

  itest("its record lost (as /run after a reboot) while it runs: its supervisor ends it and removes the rest", () =>
    onDetachHost(async (h, names) => {
      const name = uniq("lost");
      names.push(name);
      const { state: s } = await detached(h, name, 'ns uts, pid, mnt\nlimit pids 64');
      expect(cgroupsOf(s.id).length).toBeGreaterThan(0);
      rmSync(join(STATE_ROOT, name), { recursive: true }); // this test's own record
      for (let i = 0; i < 200 && sameProcess(s.supervisor); i++) await Bun.sleep(25);
      assertGone(s);
      expect((await h.ctr(["ps", "-a"])).stdout).not.toContain(name);
    }),
  );

  itest("from a terminal: the session ends, and closing the terminal leaves the container running", () =>
    onDetachHost(async (h, names) => {
      const name = uniq("tty");
      names.push(name);
      const t = new TermRepl(h);
      await t.prompt();
      let at = t.type('ns uts, pid; hostname "tty-box"');
      await t.prompt(at);
      at = t.type(`:detach ${name}`);
      expect(await Promise.race([t.exited(), Bun.sleep(20_000).then(() => "still running")])).toBe(0); // and the terminal closed
      expect(t.out.slice(at)).toContain(name);
      await Bun.sleep(200); // a hangup would have reached it by now
      const s = await inspect(h, name);
      expect(s.status).toBe("running");
      expect((await h.ctr(["exec", name, "hostname"])).stdout).toBe("tty-box\n");
      expect((await h.ctr(["stop", name])).code).toBe(0);
      expect((await inspect(h, name)).exitStatus).toBe(143);
      expect((await h.ctr(["rm", name])).code).toBe(0);
      assertGone(s);
    }),
  );
});
