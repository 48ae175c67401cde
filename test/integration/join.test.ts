// `join NAME NS...` on the real kernel, as root (rootless: test/userns/lifecycle.test.ts):
// a new container sharing namespaces of a running detached one has the very
// same namespace inodes (`show ns` and /proc), sees its hostname through a
// joined uts, its processes through a joined pid namespace (as an ordinary
// process of it, not its init), its files through a joined mnt; what it makes
// of its own is new; the target runs on unchanged, and nothing is left behind.
// Then the refusals (no such container, a stopped one, a reused PID, a
// namespace it does not have, statements that would change the target), and
// examples/13-exec.ctr driven in its two parts.

import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { example, hostNamespaces, itest, onHost, type Host } from "./host-state.ts";
import { processRef, sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import type { ContainerState } from "../../runtime/features/lifecycle/store.ts";

const STATE_ROOT = "/run/ctr";
let seq = 0;
const made: string[] = [];
const uniq = (what: string) => {
  const name = `it-${what}-${process.pid}-${seq++}`;
  made.push(name);
  return name;
};

/** onHost, and every container the test named removed even when it failed. */
const withHost = (fn: (h: Host) => Promise<void>) =>
  onHost(async (h) => {
    try {
      await fn(h);
    } finally {
      const left = made.splice(0).filter((n) => existsSync(join(STATE_ROOT, n)));
      if (left.length > 0) await h.ctr(["rm", "-f", ...left]);
    }
  });

const TARGET = (hostname: string) => `ns uts, pid, mnt, ipc, net
hostname ${hostname}
rootfs default
mount proc
mount dev
exec sleep 1000`;

/** A container's record (state.json), as the tests read it. */
type State = ContainerState;

async function detach(h: Host, name: string, script: string): Promise<State> {
  const r = await h.ctr(["-d", "--name", name, "-e", script]);
  expect(r).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" });
  return JSON.parse((await h.ctr(["inspect", name])).stdout) as State;
}

const links = (pid: number, names: string[]) => Object.fromEntries(names.map((n) => [n, readlinkSync(`/proc/${pid}/ns/${n}`)]));

/** The CONTAINER column of `show ns`, by namespace. */
function shown(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stdout.matchAll(/^(\w+)\s+(\w+:\[\d+\])\s+\w+:\[\d+\]\s+(.*)$/gm)) out[m[1]!] = `${m[2]} ${m[3]}`;
  return out;
}

/** The host PIDs of the processes in the PID namespace `link`. */
function inPidNs(link: string): number[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/pid`) === link;
    } catch {
      return false;
    }
  });
}

async function removed(h: Host, name: string, s: State): Promise<void> {
  expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
  expect(existsSync(join(STATE_ROOT, name))).toBe(false);
  expect(sameProcess(s.pid1)).toBe(false);
  // Its watcher: the shared monitor (runtime/features/lifecycle/monitor.ts) ends a moment after its last container.
  for (const end = Date.now() + 5000; sameProcess(s.supervisor) && Date.now() < end; ) await Bun.sleep(20);
  expect(sameProcess(s.supervisor)).toBe(false);
}

describe("join", () => {
  itest("uts, pid, ipc, net joined, mnt new: the target's inodes, hostname and processes; the host and the target unchanged", () =>
    withHost(async (h) => {
      const name = uniq("jt");
      const s = await detach(h, name, TARGET("jt-box"));
      const pid1 = s.pid1!.pid;
      const before = links(pid1, ["uts", "pid", "ipc", "net", "mnt"]);
      const host = hostNamespaces();
      const r = await h.ctr(["-e", `join ${name} uts, pid, ipc, net\nns mnt\nmount proc\nshow ns\nrun hostname\nrun cat /proc/1/comm\nrun sh -c 'echo "@@self=$$"; readlink /proc/self/ns/mnt; ls /proc | grep -c "^[0-9]"'`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const ns = shown(r.stdout);
      for (const n of ["uts", "pid", "ipc", "net"]) expect(ns[n]).toBe(`${before[n]} joined: container ${name}'s`);
      expect(ns.mnt).toMatch(/ new$/);
      expect(ns.mnt!.split(" ")[0]).not.toBe(before.mnt);
      expect(ns.mnt!.split(" ")[0]).not.toBe(host.mnt);
      const lines = r.stdout.split("\n");
      expect(lines).toContain("jt-box"); // its hostname, through the joined uts
      expect(lines).toContain("sleep"); // its PID 1, through the joined pid namespace's /proc
      const self = Number(/@@self=(\d+)/.exec(r.stdout)![1]);
      expect(self).toBeGreaterThan(1); // an ordinary process of that namespace, not its init
      // the target is as it was: the same PID 1, the same namespaces, its own name
      expect(sameProcess(s.pid1)).toBe(true);
      expect(links(pid1, ["uts", "pid", "ipc", "net", "mnt"])).toEqual(before);
      expect((await h.ctr(["exec", name, "hostname"])).stdout).toBe("jt-box\n");
      expect(inPidNs(before.pid!)).toEqual([pid1]); // nothing of ours is left in its PID namespace
      await removed(h, name, s);
    }),
  );

  itest("mnt and pid joined: its files and its /proc; an orphan of ours is killed at the end", () =>
    withHost(async (h) => {
      const name = uniq("jm");
      const s = await detach(h, name, TARGET("jm-box"));
      const r = await h.ctr(["-e", `join ${name} pid, mnt\nshow ns\nrun sh -c 'cat /etc/hostname; cat /proc/1/comm; sleep 777 & echo "@@bg=$!"'`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const ns = shown(r.stdout);
      expect(ns.mnt).toBe(`${readlinkSync(`/proc/${s.pid1!.pid}/ns/mnt`)} joined: container ${name}'s`);
      expect(r.stdout).toContain("jm-box\nsleep\n"); // the target's /etc/hostname, in its root; its PID 1
      // The background sleep was handed to the target's init (a subreaper of another PID namespace is passed over): the tracking cgroup ended it.
      const live = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8") === "sleep\u0000777\u0000" && sameProcess(processRef(Number(p)));
        } catch {
          return false;
        }
      });
      expect(live).toEqual([]);
      expect(sameProcess(s.pid1)).toBe(true);
      await removed(h, name, s);
    }),
  );

  itest("a joined user namespace (ids 0.. mapped to 100000..): root inside it; its maps untouched", () =>
    withHost(async (h) => {
      const name = uniq("ju");
      const s = await detach(h, name, "ns user, uts, pid, mnt\nmap uid 0 100000 65536\nmap gid 0 100000 65536\nhostname ju-box\nrootfs default\nmount proc\nexec sleep 1000");
      const maps = readFileSync(`/proc/${s.pid1!.pid}/uid_map`, "utf8");
      const r = await h.ctr(["-e", `join ${name} user, uts, pid\nns mnt\nmount proc\nrun sh -c 'echo "@@id=$(id -u):$(id -g) @@host=$(hostname) @@one=$(cat /proc/1/comm)"'`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("@@id=0:0 @@host=ju-box @@one=sleep");
      expect(readFileSync(`/proc/${s.pid1!.pid}/uid_map`, "utf8")).toBe(maps);
      await removed(h, name, s);
    }),
  );

  itest("the joining ctr SIGKILLed: its processes in the joined PID namespace end too; the target runs on", () =>
    withHost(async (h) => {
      const name = uniq("jk");
      const s = await detach(h, name, TARGET("jk-box"));
      const pidns = readlinkSync(`/proc/${s.pid1!.pid}/ns/pid`);
      const joiner = h.spawn(["-e", `join ${name} pid\nns mnt\nrun sh -c 'sleep 555 & echo started; sleep 556'`]);
      const reader = joiner.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
      expect(inPidNs(pidns).length).toBeGreaterThan(1);
      joiner.kill("SIGKILL");
      await joiner.exited;
      const end = Date.now() + 10_000;
      while (inPidNs(pidns).filter((p) => sameProcess(processRef(p))).length > 1 && Date.now() < end) await Bun.sleep(20);
      expect(inPidNs(pidns).filter((p) => sameProcess(processRef(p)))).toEqual([s.pid1!.pid]);
      expect(sameProcess(s.pid1)).toBe(true);
      await removed(h, name, s);
    }),
  );

  itest("refused before anything is made: no such container, a stopped one, a reused PID, a namespace it lacks, changing what is the target's", () =>
    withHost(async (h) => {
      const missing = await h.ctr(["-e", "join no-such-ctr uts\nrun true"]);
      expect(missing.code).toBe(125);
      expect(missing.stderr).toContain("join: no such container: no-such-ctr");
      const name = uniq("jr");
      const s = await detach(h, name, "ns uts, pid, mnt\nrootfs default\nmount proc\nexec sleep 1000");
      const lacks = await h.ctr(["-e", `join ${name} uts, net\nrun true`]);
      expect(lacks.code).toBe(125);
      expect(lacks.stderr).toContain(`container ${name} has no \`net\` namespace of its own`);
      for (const [script, what] of [
        [`join ${name} mnt\nrootfs default\nrun true`, "would change container"],
        [`join ${name} uts\nhostname x\nrun true`, "would change container"],
        [`join ${name} uts\nns uts\nrun true`, "both joined"],
      ] as const) {
        const r = await h.ctr(["-e", script]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(what);
      }
      expect((await h.ctr(["stop", "-t", "0", name])).code).toBe(0);
      const stopped = await h.ctr(["-e", `join ${name} uts\nrun true`]);
      expect(stopped.code).toBe(125);
      expect(stopped.stderr).toContain(`join: container ${name} is not running (stopped)`);
      // A record naming a live unrelated process (a reused PID): never joined.
      const other = Bun.spawn({ cmd: ["sleep", "30"] });
      try {
        const fake = { ...s, status: "running", supervisor: { pid: other.pid, start: 1 }, pid1: { pid: other.pid, start: 1 } };
        writeFileSync(join(STATE_ROOT, name, "state.json"), JSON.stringify(fake));
        const reused = await h.ctr(["-e", `join ${name} uts\nrun true`]);
        expect(reused.code).toBe(125);
        expect(reused.stderr).toContain("is not running");
        expect(sameProcess(processRef(other.pid))).toBe(true);
      } finally {
        other.kill("SIGKILL");
        await other.exited;
      }
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
    }),
  );
});

describe("examples/13-exec.ctr", () => {
  itest("serve, detached; then entered: its checks pass, and the probe command runs in its namespaces", () =>
    withHost(async (h) => {
      const name = uniq("ex13");
      const env = { NAME: name };
      const r0 = await h.ctr(["-d", "--name", name, example("13-exec.ctr"), "serve"], { env });
      expect(r0).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" });
      const s = JSON.parse((await h.ctr(["inspect", name])).stdout) as State;
      const target = links(s.pid1!.pid, ["uts", "pid", "mnt", "ipc"]);
      const r = await h.ctr([example("13-exec.ctr"), "sh", "-c", 'echo "@@host=$(hostname)"; for n in uts pid mnt ipc; do echo "@@ns.$n=$(readlink /proc/self/ns/$n)"; done; exit 5'], { env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(5);
      expect(r.stdout).toContain(`@@host=${name}\n`);
      for (const [n, link] of Object.entries(target)) {
        expect(r.stdout).toContain(`@@ns.${n}=${link}\n`);
        expect(shown(r.stdout)[n]).toBe(`${link} joined: container ${name}'s`);
      }
      // without the container: refused, nothing made
      await removed(h, name, s);
      const gone = await h.ctr([example("13-exec.ctr"), "true"], { env });
      expect(gone.code).toBe(125);
    }),
  );
});
