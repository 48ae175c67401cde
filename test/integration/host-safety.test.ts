// Host safety: what a container does inside never reaches the host, and
// nothing of it outlives ctr, whatever the script, its commands or a signal do.
// Each test is an attack or a fault that once left something behind.

import { describe, expect } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { childrenOf, hostMountinfo, itest, onHost, type Host } from "./host-state.ts";
import { detectCgroups, trackingHierarchy } from "../../runtime/features/cgroup/detect.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, userDir, userLeftovers, userStateBefore, USERNS_BLOCKER } from "../userns/helpers.ts";

/** A sleep duration no other run uses: leftovers of another run (or of an old ctr) never match this one's. */
const tag = (n: number) => String(1_000_000_000 + (process.pid % 1_000_000) * 100 + n);
/** What every tag of this run starts with. */
const TAGS = tag(0).slice(0, -2);

/** Processes whose command line starts with `marker` (not ctr, whose argv holds the script), from the host's /proc. */
function processesWith(marker: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.startsWith(marker)) out.push(`${name}: ${cmd}`);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}


/** Wait until `cond` holds (polling), or fail after `ms` with `what`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Start a script with `ctr -e` and return it with the host PID of its PID 1 once the `run` is going. */
async function startRun(h: Host, script: string, marker: string) {
  const proc = h.spawn(["-e", script]);
  await until(() => processesWith(marker).length > 0, `\`${marker}\` to start`);
  const stage1 = childrenOf(proc.pid)[0]!;
  const pid1 = childrenOf(stage1)[0]!;
  return { proc, stage1, pid1 };
}

async function finish(proc: ReturnType<Host["spawn"]>) {
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("host safety", () => {
  itest("the tests run on a root with shared propagation, as on a systemd machine", () => {
    const root = hostMountinfo().split("\n").find((l) => l.split(" ")[4] === "/");
    expect(root).toMatch(/ shared:\d+/);
  });

  // Issue: on a shared root, mounts made by a command inside appeared on the host.
  itest("a mount made by a command inside stays inside (ns mnt, no ctr mount statement)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns uts, pid, mnt\nrun mount -t tmpfs ctr-probe /mnt\nrun grep -c ctr-probe /proc/self/mountinfo\nexpect output == 1"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(hostMountinfo()).not.toContain("ctr-probe");
    }),
  );

  itest("`mount -t proc proc /proc` inside leaves the host's /proc working (the walkthrough's broken /proc)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns uts, pid, mnt\nrun mount -t proc proc /proc"]);
      expect(r.code).toBe(0);
      expect(readlinkSync("/proc/self/exe")).toBe(process.execPath);
    }),
  );

  itest("the REPL's container is private from its first statement too", () =>
    onHost(async (h) => {
      const r = await h.ctr(["repl", "-q"], { stdin: "ns uts, mnt\nrun mount -t tmpfs ctr-repl-probe /mnt\n" });
      expect(r.code).toBe(0);
      expect(hostMountinfo()).not.toContain("ctr-repl-probe");
    }),
  );

  // Issue: without `ns pid`, after pivot_root stage 1 could not read its children and background jobs survived.
  itest("without ns pid, a background job of a `run` dies with the container (rootfs + pivot_root)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", `ns uts, mnt\nrootfs default\nmount dev\nrun sh -c "sleep ${tag(61)} &"`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(processesWith(`sleep ${tag(61)}`)).toEqual([]);
    }),
  );

  const tracking = trackingHierarchy(detectCgroups());
  if (!tracking) console.log("skip: no cgroup hierarchy here to keep a container's processes in");
  else itest("without ns pid, the container's processes are in a cgroup of its own from the start (stage 1 joined it before unsharing)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns uts\nrun cat /proc/self/cgroup"]);
      expect(r.code).toBe(0);
      const line = r.stdout.split("\n").find((l) => (tracking.version === "v2" ? l.startsWith("0::") : l.split(":")[1]!.split(",").some((c) => tracking.controllers.includes(c))));
      expect(line).toMatch(new RegExp(`/ctr-[a-z0-9]+-${r.pid}$`));
    }),
  );

  itest("without ns pid, `umount -l /proc; setsid sleep &` does not escape either", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", `ns uts, mnt\nrootfs default\nmount dev\nmount proc\nrun sh -c "umount -l /proc; setsid sleep ${tag(62)} > /dev/null 2>&1 &"`]);
      expect(r.code).toBe(0);
      expect(processesWith(`sleep ${tag(62)}`)).toEqual([]);
    }),
  );

  const rootless = rootlessSkipReason() ?? (USERNS_BLOCKER ? `unprivileged user namespaces are off: ${USERNS_BLOCKER}` : null);
  if (!skipping(rootless))
    itest("rootless, without ns pid (no cgroup to kill through): the background job still dies with the container", () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const runtimeDir = userDir(h);
        const state = userStateBefore(runtimeDir);
        const r = await ctrAsUser(h, ["-e", `ns user, uts, mnt\nrootfs default\nmount dev\nrun sh -c "sleep ${tag(65)} &"`], { home, runtimeDir });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(processesWith(`sleep ${tag(65)}`)).toEqual([]);
        expect(userLeftovers(h, state, home)).toEqual([]);
      }),
    60_000);

  for (const victim of ["ctr", "stage 1"] as const) {
    itest(`without ns pid, SIGKILL of ${victim} during a run leaves no process of the container`, () =>
      onHost(async (h) => {
        const { proc, stage1 } = await startRun(h, `ns uts, mnt\nrootfs default\nmount dev\nrun sh -c "sleep ${tag(63)} & exec sleep ${tag(64)}"`, `sleep ${tag(64)}`);
        process.kill(victim === "ctr" ? proc.pid : stage1, "SIGKILL");
        await proc.exited;
        await until(() => processesWith(`sleep ${TAGS}`).length === 0, "the container's processes to die");
        // A SIGKILLed ctr cannot remove its state directory and cgroups: the next run sweeps them (onHost checks).
        expect((await h.ctr(["-e", "ns uts\nrun true"])).code).toBe(0);
      }),
    );
  }

  // Issue: with `ns cgroup` the container's cgroup namespace was rooted at ctr's own cgroup (the host's top one here).
  const sys = detectCgroups();
  const v1pids = sys.v1.pids?.version === "v1";
  const cgMount = v1pids ? "mount -t cgroup -o pids pids /tmp/cg" : "mount -t cgroup2 none /tmp/cg";
  itest("ns cgroup: root inside writes only the container's own cgroup, which ctr removes", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", `ns uts, mnt, cgroup, pid\nrootfs default\nmount dev\nmount proc\nrun sh -c "mkdir -p /tmp/cg && ${cgMount} && mkdir /tmp/cg/ctr-escape-probe-${process.pid} && grep -c '/$' /proc/self/cgroup && wc -l < /proc/self/cgroup"`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // every line of /proc/self/cgroup is "/": the namespace's root is the container's cgroup in every hierarchy
      const [rooted, lines] = r.stdout.trim().split(/\s+/);
      expect(rooted).toBe(lines);
      const host = detectCgroups();
      const dirs = [...new Set([...Object.values(host.v1), host.v2].filter((x) => x !== null && x !== undefined).map((x) => x!.mount))];
      for (const d of dirs) expect(readdirSync(d)).not.toContain(`ctr-escape-probe-${process.pid}`);
    }),
  );

  itest("ns cgroup in the REPL: a later `limit pids` cannot be escaped by moving to the namespace's root", () =>
    onHost(async (h) => {
      const attack = `run sh -c "mkdir -p /tmp/cg && ${cgMount} && echo \\$\\$ > /tmp/cg/cgroup.procs; i=0; while [ \\$i -lt 40 ]; do sleep 5 2>/dev/null & i=\\$((i+1)); done 2>/dev/null; ls /proc | grep -c '^[0-9]'"`;
      const r = await h.ctr(["repl", "-q"], { stdin: `ns uts, mnt, cgroup, pid\nrootfs default\nmount dev\nmount proc\nlimit pids 20\n${attack}\n` });
      const count = Number(r.stdout.trim().split("\n").pop());
      expect(count).toBeLessThanOrEqual(20);
    }),
  60_000);

  // Issue: some signals left the state directory and the cgroups behind.
  for (const sig of ["SIGUSR1", "SIGUSR2", "SIGALRM", "SIGQUIT"] as const) {
    itest(`${sig} to ctr during a run: the container is torn down, nothing is left (status 128+N)`, () =>
      onHost(async (h) => {
        const { proc } = await startRun(h, `ns uts, mnt\nrootfs default\nlimit pids 50\nlimit memory 256m\nrun sleep ${tag(70)}`, `sleep ${tag(70)}`);
        process.kill(proc.pid, sig);
        const r = await finish(proc);
        expect(r.code).toBeGreaterThan(128);
        expect(processesWith(`sleep ${tag(70)}`)).toEqual([]);
      }),
    );
  }

  itest("SIGUSR1 at any moment of the start (front end, cgroups, unshare, setup): nothing is left", () =>
    onHost(async (h) => {
      for (const ms of [0, 5, 10, 20, 30, 45, 60, 80, 120]) {
        const proc = h.spawn(["-e", `ns uts, mnt\nrootfs default\nlimit pids 50\nmount dev\nrun sleep ${tag(76)}`]);
        await Bun.sleep(ms);
        proc.kill("SIGUSR1");
        await proc.exited;
        await until(() => processesWith(`sleep ${tag(76)}`).length === 0, "the container's processes to die");
      }
      // A ctr killed before it could clean up (the default action, before its handlers) leaves only what the next run sweeps.
      expect((await h.ctr(["-e", "ns uts\nrun true"])).code).toBe(0);
    }),
  60_000);

  itest("SIGUSR1 to the REPL during a run: the session is torn down, nothing is left (status 138)", () =>
    onHost(async (h) => {
      const repl = h.spawn(["repl", "-q"], { stdin: `ns uts, mnt\nrootfs default\nlimit pids 50\nrun sleep ${tag(75)}\n` });
      await until(() => processesWith(`sleep ${tag(75)}`).length > 0, "the REPL's run to start");
      repl.kill("SIGUSR1");
      expect(await repl.exited).toBe(138);
      expect(processesWith(`sleep ${tag(75)}`)).toEqual([]);
    }),
  );

  itest("after SIGKILL of ctr (script or REPL), the next run sweeps its state directory and cgroups", () =>
    onHost(async (h) => {
      const script = await startRun(h, `ns uts, mnt\nrootfs default\nlimit pids 50\nlimit memory 256m\nrun sleep ${tag(71)}`, `sleep ${tag(71)}`);
      const repl = h.spawn(["repl", "-q"], { stdin: `ns uts, mnt\nrootfs default\nlimit pids 50\nrun sleep ${tag(72)}\n` });
      await until(() => processesWith(`sleep ${tag(72)}`).length > 0, "the REPL's run to start");
      for (const p of [script.proc, repl]) {
        p.kill("SIGKILL");
        await p.exited;
      }
      await until(() => processesWith(`sleep ${TAGS}`).length === 0, "the containers' processes to die");
      const next = await h.ctr(["-e", "ns uts\nrun true"]);
      expect(next.code).toBe(0);
      // onHost: no /run/ctr entry and no cgroup named after either killed ctr
    }),
  );

  // Issue: SIGTERM ended the run with 143 and its trap never ran.
  itest("SIGTERM to ctr during a run reaches the run's process: its trap runs, its status is ctr's", () =>
    onHost(async (h) => {
      const { proc } = await startRun(h, `ns uts, mnt\nrun sh -c "trap 'echo trapped; exit 3' TERM; sleep ${tag(73)} & wait"\necho not-reached`, `sleep ${tag(73)}`);
      process.kill(proc.pid, "SIGTERM");
      const r = await finish(proc);
      expect(r.stdout).toContain("trapped");
      expect(r.stdout).not.toContain("not-reached");
      expect(r.code).toBe(3);
    }),
  );

  itest("PID 1 killed with SIGKILL from the host during a run: status 137 and what was killed", () =>
    onHost(async (h) => {
      const { proc, pid1 } = await startRun(h, `ns uts, mnt, pid\nrun sleep ${tag(74)}`, `sleep ${tag(74)}`);
      process.kill(pid1, "SIGKILL");
      const r = await finish(proc);
      expect(r.code).toBe(137);
      expect(r.stderr).toContain(`PID 1 (host pid ${pid1}) was killed by SIGKILL during \`run sleep ${tag(74)}\``);
    }),
  );
});
