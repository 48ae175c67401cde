// Named and detached containers on the real kernel (issue 15, Acceptance, as
// root; test/userns/lifecycle.test.ts as uid 65534): a detached container
// outlives ctr, `ps` lists it, `exec` enters it, `logs` has its output, `stop`
// ends it with its status recorded, and `rm` leaves nothing behind; then the
// faults: PID 1, the supervisor or `ctr exec` SIGKILLed, the state lost, a
// recorded PID reused by an unrelated process; and bad input.
// Each test kills only processes it started itself (by PID), and names its
// containers `it-...-PID` so that parallel runs do not meet.

import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENTS, children, childrenOf, itest, onHost, type Host } from "./host-state.ts";
import { waitpid, WNOHANG } from "../../native/index.ts";
import { processRef, sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import type { ContainerState } from "../../runtime/features/lifecycle/store.ts";

const STATE_ROOT = "/run/ctr";
let seq = 0;
const uniq = (what: string) => `it-${what}-${process.pid}-${seq++}`;

const SCRIPT = `ns uts, pid, mnt, ipc
hostname lc-box
rootfs default
mount proc
run echo to-the-log
exec sleep 1000`;

/** A script without `ns pid`: its processes are tracked by a cgroup of its own. */
const CGROUP_SCRIPT = `ns uts, mnt
hostname lc-cg
limit memory 64M
env FOO=bar
cwd /tmp
rlimit nofile 100:200
no_new_privs
exec sleep 1000`;

/** With `ns pid`: adopted, PID 1 the shared monitor's child once stage 1 is let go (runtime/features/lifecycle/adopt.ts, monitor.ts); a cgroup for teardown to remove. */
const ADOPTED_SCRIPT = `ns uts, pid, mnt
hostname lc-ad
limit memory 64M
exec sleep 1000`;


/** Whether `pid` is a shared monitor (runtime/monitor-main.ts). */
const isMonitor = (pid: number): boolean => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((a) => a.endsWith("/runtime/monitor-main.ts"));

/** The monitors running that are not among `before`, but `serving` (the one a test's containers use, which may be older). */
const monitorsSince = (before: number[], serving?: number): number[] => monitors().filter((p) => p === serving || !before.includes(p));

/** The shared monitors running, by their command line. */
function monitors(): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (isMonitor(Number(e)) && sameProcess(processRef(Number(e)))) out.push(Number(e));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** PID `pid`'s parent, from /proc. */
const parentOf = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

/** A container's record (state.json), as the tests read it. */
type State = ContainerState;

async function inspect(h: Host, name: string): Promise<State> {
  const r = await h.ctr(["inspect", name]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as State;
}

async function detach(h: Host, name: string, script = SCRIPT): Promise<State> {
  const r = await h.ctr(["-d", "--name", name, "-e", script]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe(`${name}\n`);
  expect(r.code).toBe(0);
  return inspect(h, name);
}

/**
 * Nothing of the container `id` / `name` is left: record, per-container
 * directory, cgroups, mounts, processes (its watcher: its supervisor, or the
 * shared monitor once its last container ended, which it may take a moment to see).
 */
async function assertGone(name: string, s: State): Promise<void> {
  expect(existsSync(join(STATE_ROOT, name))).toBe(false);
  expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
  for (const parent of CGROUP_PARENTS) {
    expect(existsSync(join(parent, s.id))).toBe(false);
    expect(existsSync(join(parent, `${s.id}-host`))).toBe(false);
  }
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(s.id);
  expect(sameProcess(s.pid1)).toBe(false);
  await until("its supervisor or monitor to end", () => !sameProcess(s.supervisor), 5000);
}

/** Whether `pid` runs (not a zombie): a process this test started, or a recorded one. */
const alive = (pid: number): boolean => sameProcess(processRef(pid));

/** A stopped container: its cgroups are gone already; `rm` removes its record, and nothing is left. */
async function removeStopped(h: Host, name: string, s: State): Promise<void> {
  for (const dir of s.cgroups) expect(existsSync(dir)).toBe(false);
  expect((await h.ctr(["rm", name])).code).toBe(0);
  await assertGone(name, s);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("a detached container", () => {
  itest("survives ctr; ps, exec, logs, stop and rm; nothing left", () =>
    onHost(async (h) => {
      const name = uniq("life");
      const s = await detach(h, name);
      expect(s.status).toBe("running");
      expect(alive(s.pid1!.pid)).toBe(true); // ctr has exited; the container runs
      const ps = await h.ctr(["ps"]);
      expect(ps.stdout).toMatch(new RegExp(`^${name}\\s+Up .*\\s${s.pid1!.pid}\\s.*sleep 1000$`, "m"));
      const json = JSON.parse((await h.ctr(["ps", "--format", "json"])).stdout) as { name: string }[];
      expect(json.some((c) => c.name === name)).toBe(true);
      expect(await h.ctr(["exec", name, "hostname"])).toMatchObject({ code: 0, stdout: "lc-box\n", stderr: "" });
      // its own /proc: PID 1 (the sleep) and the shell itself, nothing of the host
      const procs = await h.ctr(["exec", name, "sh", "-c", "cat /proc/1/comm; echo $$; ls /proc | grep -c '^[0-9]'"]);
      expect(procs.code).toBe(0);
      const [comm, self, count] = procs.stdout.trim().split("\n");
      expect(comm).toBe("sleep");
      expect(Number(self)).toBeGreaterThan(1);
      expect(Number(count)).toBeLessThan(5);
      // the same namespaces as PID 1's
      for (const ns of ["uts", "pid", "mnt", "ipc"]) {
        const inside = await h.ctr(["exec", name, "readlink", `/proc/self/ns/${ns}`]);
        expect(inside.stdout.trim()).toBe((await import("node:fs")).readlinkSync(`/proc/${s.pid1!.pid}/ns/${ns}`));
      }
      expect((await h.ctr(["exec", name, "sh", "-c", "exit 7"])).code).toBe(7);
      expect((await h.ctr(["exec", name, "no-such-command"])).code).toBe(127);
      expect((await h.ctr(["logs", name])).stdout).toBe("to-the-log\n");
      const t0 = performance.now();
      expect(await h.ctr(["stop", "-t", "1", name])).toMatchObject({ code: 0, stdout: `${name}\n` });
      expect(performance.now() - t0).toBeLessThan(4000); // sleep ignores SIGTERM as PID 1: SIGKILL after 1 s
      const stopped = await inspect(h, name);
      expect(stopped.status).toBe("stopped");
      expect(stopped.exitStatus).toBe(137);
      expect((await h.ctr(["ps"])).stdout).not.toContain(name);
      expect((await h.ctr(["ps", "-a"])).stdout).toMatch(new RegExp(`^${name}\\s+Exited \\(137\\)`, "m"));
      expect(await h.ctr(["exec", name, "true"])).toMatchObject({ code: 125, stderr: `ctr: container ${name} is not running (stopped, exit status 137)\n` });
      expect(await h.ctr(["rm", name])).toMatchObject({ code: 0, stdout: `${name}\n` });
      await assertGone(name, s);
    }),
  );

  itest("exec joins its cgroup and applies its process spec (env, cwd, rlimit, no_new_privs)", () =>
    onHost(async (h) => {
      const name = uniq("spec");
      const s = await detach(h, name, CGROUP_SCRIPT);
      expect(s.cgroups.length).toBeGreaterThan(0);
      const r = await h.ctr(["exec", "-e", "EXTRA=1", name, "sh", "-c", 'echo "$FOO $EXTRA $(pwd) $(ulimit -n) $(grep NoNewPrivs /proc/self/status | cut -f2)"; cat /proc/self/cgroup']);
      expect(r.stderr).toBe("");
      const [line, ...cgroups] = r.stdout.trim().split("\n");
      expect(line).toBe("bar 1 /tmp 100 1");
      const pid1Cgroups = readFileSync(`/proc/${s.pid1!.pid}/cgroup`, "utf8").trim().split("\n");
      expect(cgroups).toEqual(pid1Cgroups);
      expect((await h.ctr(["exec", "-w", "/", name, "pwd"])).stdout).toBe("/\n");
      // rm of a running container needs -f
      expect(await h.ctr(["rm", name])).toMatchObject({ code: 125, stderr: `ctr: container ${name} is running\nhelp: stop it first (ctr stop ${name}), or ctr rm -f ${name}\n` });
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
      await assertGone(name, s);
    }),
  );
});

describe("faults", () => {
  itest("PID 1 killed from the host: the exit status is recorded, the teardown done", () =>
    onHost(async (h) => {
      const name = uniq("kill1");
      const s = await detach(h, name, CGROUP_SCRIPT);
      process.kill(s.pid1!.pid, "SIGKILL"); // a process this test started (through ctr)
      await until("the record to say stopped", async () => (await inspect(h, name)).status === "stopped");
      expect((await inspect(h, name)).exitStatus).toBe(137);
      await until("the supervisor to end", () => !alive(s.supervisor!.pid));
      await removeStopped(h, name, s);
    }),
  );

  itest("the supervisor killed: the container ends, and the next ctr sweeps its record", () =>
    onHost(async (h) => {
      const name = uniq("kills");
      const s = await detach(h, name, CGROUP_SCRIPT);
      process.kill(s.supervisor!.pid, "SIGKILL");
      await until("PID 1 to end (stage 1 kills it)", () => !alive(s.pid1!.pid));
      const after = await inspect(h, name); // sweeps first
      expect(after).toMatchObject({ status: "stopped", exitStatus: null, note: "its supervisor was killed" });
      expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
      await removeStopped(h, name, s);
    }),
  );

  itest("adopted (ns pid): PID 1 is the shared monitor's child, no stage 1 or supervisor; killed from the host: 137 recorded, its cgroups removed", () =>
    onHost(async (h) => {
      const name = uniq("adopt1");
      const s = await detach(h, name, ADOPTED_SCRIPT);
      expect(parentOf(s.pid1!.pid)).toBe(s.supervisor!.pid);
      expect(isMonitor(s.supervisor!.pid)).toBe(true);
      await until("its supervisor to end (ctr -d returns once PID 1 runs, before the handover)", () => childrenOf(s.supervisor!.pid).length === 1);
      expect(childrenOf(s.supervisor!.pid)).toEqual([s.pid1!.pid]);
      expect(s.cgroups.length).toBeGreaterThan(0);
      for (const dir of s.cgroups) expect(existsSync(dir)).toBe(true);
      expect((await h.ctr(["exec", name, "hostname"])).stdout).toBe("lc-ad\n");
      process.kill(s.pid1!.pid, "SIGKILL"); // a process this test started (through ctr)
      await until("the record to say stopped", async () => (await inspect(h, name)).status === "stopped");
      expect((await inspect(h, name)).exitStatus).toBe(137);
      await until("the monitor to end (its last container ended)", () => !alive(s.supervisor!.pid));
      await removeStopped(h, name, s);
    }),
  );

  itest("ctr exec killed during the exec: its command is killed, the container runs on", () =>
    onHost(async (h) => {
      const name = uniq("killx");
      const s = await detach(h, name);
      const exec = h.spawn(["exec", name, "sh", "-c", "echo started; exec sleep 999"]);
      const reader = exec.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
      const inner = () => (readFileSync(`/proc/${s.pid1!.pid}/task/${s.pid1!.pid}/children`, "utf8") + "").trim();
      expect(inner()).toBe(""); // the exec'd command is not PID 1's child: it is ctr exec's
      exec.kill("SIGKILL");
      await exec.exited;
      // An orphan now, re-parented to the test (a subreaper), killed by ctr exec's guard
      // (runtime/features/lifecycle/guard.ts): reaped here as by any subreaper, or the
      // zombie would hold the container's PID namespace (and its PID 1's end) until the test ends.
      const reapedAll = (what: string) => () => {
        for (const c of children()) if (c.state === "Z") waitpid(c.pid, WNOHANG);
        return !children().some((c) => c.cmd.includes(what));
      };
      await until("the exec'd sleep to end", reapedAll("sleep 999"));
      await until("the guard to end", () => reapedAll("enter-init.js guard")() && reapedAll("sh -c ns= pid=;")());
      await until("the exec'd sleep to end", async () => !(await h.ctr(["exec", name, "sh", "-c", "ps -e -o comm= 2>/dev/null || ls /proc"])).stdout.includes("sleep 999"));
      const ids = (await h.ctr(["exec", name, "sh", "-c", "for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done"])).stdout;
      expect(ids).not.toContain("sleep 999");
      // not even a zombie: one left to a subreaper that does not reap (as the test process) would keep PID 1 from ending
      const ns = readlinkSync(`/proc/${s.pid1!.pid}/ns/pid`);
      const inNs = () =>
        readdirSync("/proc").filter((p) => {
          try {
            return /^\d+$/.test(p) && readlinkSync(`/proc/${p}/ns/pid`) === ns;
          } catch {
            return false; // ended meanwhile
          }
        });
      await until("only PID 1 left in its PID namespace", () => inNs().length === 1);
      expect(inNs()).toEqual([String(s.pid1!.pid)]);
      expect(alive(s.pid1!.pid)).toBe(true);
      expect(await h.ctr(["rm", "-f", name])).toMatchObject({ code: 0, stderr: "" });
      await assertGone(name, s);
    }),
  );

  itest("adoptable (ns pid), its supervisor killed before the handover (a `run` in progress): the container ends; the monitor marks it stopped and removes its cgroups and directory, named after the monitor", () =>
    onHost(async (h) => {
      const name = uniq("presup");
      const s = await detach(h, name, "ns uts, pid, mnt\nrootfs default\nlimit memory 64M\nrun sleep 1000\nexec sleep 1000");
      const monitor = parentOf(s.supervisor!.pid);
      expect(isMonitor(monitor)).toBe(true);
      expect(s.id.endsWith(`-${monitor}`)).toBe(true);
      expect(s.cgroups.length).toBeGreaterThan(0);
      process.kill(s.supervisor!.pid, "SIGKILL"); // a process this test started (through ctr)
      await until("PID 1 to end (stage 1 kills it)", () => !alive(s.pid1!.pid));
      // no sweep: the record is read as it is
      await until("the monitor to mark it stopped", () => JSON.parse(readFileSync(join(STATE_ROOT, name, "state.json"), "utf8")).status === "stopped");
      expect(JSON.parse(readFileSync(join(STATE_ROOT, name, "state.json"), "utf8"))).toMatchObject({ exitStatus: null, note: "its supervisor was killed" });
      await until("its cgroups removed", () => s.cgroups.every((d) => !existsSync(d)));
      expect(existsSync(join(STATE_ROOT, s.id))).toBe(false);
      await removeStopped(h, name, s);
    }),
  );

  for (const [how, script] of [["its supervisor", CGROUP_SCRIPT], ["the shared monitor (adopted)", ADOPTED_SCRIPT]] as const)
    itest(`its record lost while it runs (/run gone): ${how} ends the container and cleans up`, () =>
      onHost(async (h) => {
        const name = uniq("lost");
        const s = await detach(h, name, script);
        rmSync(join(STATE_ROOT, name), { recursive: true, force: true });
        await until("the supervisor or monitor to end", () => !alive(s.supervisor!.pid), 5000);
        expect(alive(s.pid1!.pid)).toBe(false);
        await assertGone(name, s);
        for (const d of s.cgroups) expect(existsSync(d)).toBe(false);
      }),
    );

  itest("a record whose PIDs are now unrelated processes: they are never signalled", () =>
    onHost(async (h) => {
      const name = uniq("reuse");
      const s = await detach(h, name);
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
      // An unrelated process of this test, under the recorded PIDs (as a reused PID would be).
      const other = Bun.spawn({ cmd: ["sleep", "30"] });
      try {
        const file = join(STATE_ROOT, name);
        const fs = await import("node:fs");
        if (!existsSync(STATE_ROOT)) fs.mkdirSync(STATE_ROOT, { mode: 0o711 });
        fs.mkdirSync(file, { mode: 0o711 });
        writeFileSync(join(file, ".ctr-state"), `${name}\n`);
        const fake = { ...s, name, status: "running", supervisor: { pid: other.pid, start: 1 }, pid1: { pid: other.pid, start: 1 } };
        writeFileSync(join(file, "state.json"), JSON.stringify(fake));
        expect((await h.ctr(["kill", name])).code).toBe(125);
        expect(await inspect(h, name)).toMatchObject({ status: "stopped", exitStatus: null });
        expect((await h.ctr(["rm", name])).code).toBe(0);
        expect(alive(other.pid)).toBe(true);
        expect(existsSync(file)).toBe(false);
      } finally {
        other.kill("SIGKILL");
        await other.exited;
      }
    }),
  );

  itest(
    "20 detached containers started and removed in a loop: nothing left",
    () =>
      onHost(async (h) => {
        const states: [string, State][] = [];
        for (let i = 0; i < 20; i++) {
          const name = uniq("loop");
          states.push([name, await detach(h, name, i % 2 ? SCRIPT : CGROUP_SCRIPT)]);
        }
        const ps = (await h.ctr(["ps"])).stdout;
        for (const [name] of states) expect(ps).toContain(name);
        expect((await h.ctr(["rm", "-f", ...states.map(([n]) => n)])).code).toBe(0);
        for (const [name, s] of states) await assertGone(name, s);
      }),
    120_000,
  );
});

describe("the shared monitor (runtime/features/lifecycle/monitor.ts)", () => {
  itest("two containers share one monitor, their PID 1s its only children; it ends after the last one, its socket gone", () =>
    onHost(async (h) => {
      const [a, b] = [uniq("share"), uniq("share")];
      const before = monitors(); // see "5 ctr -d at once"
      const sa = await detach(h, a, ADOPTED_SCRIPT);
      const sb = await detach(h, b);
      const monitor = sa.supervisor!.pid;
      expect(sb.supervisor).toEqual(sa.supervisor);
      expect(isMonitor(monitor)).toBe(true);
      expect(monitorsSince(before, monitor)).toEqual([monitor]);
      await until("their supervisors to end", () => childrenOf(monitor).length === 2);
      expect(childrenOf(monitor)).toEqual([sa.pid1!.pid, sb.pid1!.pid].sort((x, y) => x - y));
      expect(existsSync(join(STATE_ROOT, "monitor.sock"))).toBe(true);
      expect(await h.ctr(["stop", "-t", "0", a])).toMatchObject({ code: 0 });
      expect(alive(monitor)).toBe(true); // b still runs
      expect(await h.ctr(["stop", "-t", "0", b])).toMatchObject({ code: 0 });
      await until("the monitor to end", () => !alive(monitor), 5000);
      expect(existsSync(join(STATE_ROOT, "monitor.sock"))).toBe(false);
      expect(monitorsSince(before)).toEqual([]);
      for (const [n, st] of [[a, sa], [b, sb]] as const) {
        expect((await inspect(h, n)).exitStatus).toBe(137);
        await removeStopped(h, n, st);
      }
    }),
  );

  itest("the monitor SIGKILLed with 2 containers: both PID 1s die (parent-death signal), the next ctr ps -a sweeps, nothing left", () =>
    onHost(async (h) => {
      const [a, b] = [uniq("mkill"), uniq("mkill")];
      const sa = await detach(h, a, ADOPTED_SCRIPT);
      const sb = await detach(h, b);
      const monitor = sa.supervisor!.pid;
      expect(sb.supervisor!.pid).toBe(monitor);
      process.kill(monitor, "SIGKILL"); // a process this test started (through ctr)
      await until("both PID 1s to end with the monitor", () => !alive(sa.pid1!.pid) && !alive(sb.pid1!.pid));
      const ps = await h.ctr(["ps", "-a"]); // sweeps first
      for (const n of [a, b]) expect(ps.stdout).toMatch(new RegExp(`^${n}\\s+Exited \\(unknown\\) its supervisor was killed`, "m"));
      expect(existsSync(join(STATE_ROOT, "monitor.sock"))).toBe(false);
      for (const st of [sa, sb]) {
        expect(existsSync(join(STATE_ROOT, st.id))).toBe(false);
        for (const d of st.cgroups) expect(existsSync(d)).toBe(false);
      }
      for (const [n, st] of [[a, sa], [b, sb]] as const) await removeStopped(h, n, st);
    }),
  );

  itest("logs -f of an adopted container follows its output and ends with it (its record, not its watcher, which lives on)", () =>
    onHost(async (h) => {
      const [name, other] = [uniq("follow"), uniq("follow")];
      const keep = await detach(h, other, ADOPTED_SCRIPT); // the monitor outlives the followed container
      const s = await detach(h, name, "ns uts, pid, mnt\nrootfs default\nexec sh -c 'echo one; sleep 1; echo two; exit 3'");
      expect(s.supervisor).toEqual(keep.supervisor);
      const t0 = performance.now();
      expect(await h.ctr(["logs", "-f", name])).toMatchObject({ code: 0, stdout: "one\ntwo\n" });
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(await inspect(h, name)).toMatchObject({ status: "stopped", exitStatus: 3 });
      expect(alive(keep.supervisor!.pid)).toBe(true);
      expect((await h.ctr(["rm", "-f", other])).code).toBe(0);
      await removeStopped(h, name, s);
      await assertGone(other, keep);
    }),
  );

  itest("5 ctr -d at once: one monitor for all", () =>
    onHost(async (h) => {
      const names = [0, 1, 2, 3, 4].map(() => uniq("race"));
      // Monitors already there. The previous test's may still be on its way out: idle, it removed its socket and
      // let go of the root's lock, and a new one may start before its process is gone (monitor.ts tryExit).
      const before = monitors();
      let removed = false;
      try {
        const rs = await Promise.all(names.map((n) => h.ctr(["-d", "--name", n, "-e", ADOPTED_SCRIPT])));
        for (const [i, r] of rs.entries()) expect(r).toMatchObject({ code: 0, stdout: `${names[i]}\n`, stderr: "" });
        const states = await Promise.all(names.map((n) => inspect(h, n)));
        const monitor = states[0]!.supervisor!.pid;
        for (const st of states) expect(st.supervisor).toEqual(states[0]!.supervisor);
        // No monitor was started but the one serving all five (which may be one from before).
        expect(monitorsSince(before, monitor)).toEqual([monitor]);
        await until("their supervisors to end", () => childrenOf(monitor).length === 5);
        expect(childrenOf(monitor)).toEqual(states.map((st) => st.pid1!.pid).sort((x, y) => x - y));
        expect((await h.ctr(["rm", "-f", ...names])).code).toBe(0);
        removed = true;
        for (const [i, st] of states.entries()) await assertGone(names[i]!, st);
        expect(existsSync(join(STATE_ROOT, "monitor.sock"))).toBe(false);
      } finally {
        if (!removed) await h.ctr(["rm", "-f", ...names]); // a failed check leaves no record behind
      }
    }),
  );
});

describe("bad input, before anything is made", () => {
  itest("a taken name, an invalid one, a missing container, -t", () =>
    onHost(async (h) => {
      const name = uniq("taken");
      const s = await detach(h, name);
      const again = await h.ctr(["-d", "--name", name, "-e", SCRIPT]);
      expect(again).toMatchObject({ code: 125, stdout: "", stderr: `ctr: the name "${name}" is taken by another container\nhelp: remove it first (ctr rm ${name}) or choose another --name\n` });
      const fg = await h.ctr(["--name", name, "-e", SCRIPT]);
      expect(fg.code).toBe(125);
      expect(fg.stderr).toContain("is taken");
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
      await assertGone(name, s);
      for (const bad of ["ctr-x-1", "a/b", "", "-x", ".hidden"]) {
        const r = await h.ctr(["-d", "--name", bad, "-e", SCRIPT]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("invalid container name");
      }
      for (const cmd of [["exec", "no-such-ctr", "true"], ["stop", "no-such-ctr"], ["kill", "no-such-ctr"], ["rm", "no-such-ctr"], ["logs", "no-such-ctr"], ["inspect", "no-such-ctr"]]) {
        expect(await h.ctr(cmd)).toMatchObject({ code: 125, stderr: "ctr: no such container: no-such-ctr\nhelp: `ctr ps -a` lists them\n" });
      }
      expect((await h.ctr(["exec", "-t", "no-such-ctr", "sh"])).code).toBe(125); // -t is known: the container is what is missing
      // a script error: said, nothing made
      const broken = await h.ctr(["-d", "--name", uniq("broken"), "-e", "ns uts\nhostnme x"]);
      expect(broken.code).toBe(2);
      expect((await h.ctr(["ps", "-a"])).stdout).not.toContain("broken");
    }),
  );

  itest("a container that fails to set up: its error, no record; with ns pid (named after the monitor) no cgroup or directory left either", () =>
    onHost(async (h) => {
      const ours = () => CGROUP_PARENTS.flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => n.startsWith("ctr-")) : [])).sort();
      const before = ours();
      for (const script of ["ns uts, mnt\nexec /no/such/command", "ns uts, pid, mnt\nlimit memory 64M\nexec /no/such/command"]) {
        const name = uniq("fail");
        const r = await h.ctr(["-d", "--name", name, "-e", script]);
        expect(r.code).toBe(127);
        expect(r.stderr).toContain("/no/such/command");
        expect(existsSync(join(STATE_ROOT, name))).toBe(false);
      }
      expect(ours()).toEqual(before);
    }),
  );
});
