// ctr as an OCI runtime, for real (as root): a busybox bundle from `ctr spec`
// through create, state, start, kill and delete with runc's command line,
// the effect of the config's fields checked from inside, `run` relaying the
// exit status, errors in the JSON log as containerd and podman read them; and
// nothing left on the host (test/integration/host-state.ts), the
// supervisor's own traces included.

import { beforeAll, afterAll, describe, expect } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT, REPO, itest, onHost, type Host } from "../integration/host-state.ts";

let dir = "";
let rootfs = "";
beforeAll(() => {
  if (!IS_ROOT) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-it-oci-"));
  rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A bundle: `ctr spec`'s config with `args` (and `edit` applied), its root the busybox rootfs. */
async function bundle(h: Host, args: string[], edit: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const b = h.scratch();
  const r = await h.ctr(["spec", "--bundle", b]);
  expect(r.code).toBe(0);
  const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  cfg.root.path = rootfs;
  cfg.process.args = args;
  edit(cfg);
  writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
  return b;
}

/** `ctr --root ROOT ...`, the JSON log in LOG. */
function oci(h: Host, root: string, args: string[]) {
  return h.ctr(["--root", root, "--log", join(root, "..", "log.json"), "--log-format", "json", ...args]);
}

/** The process has ended (a zombie counts: its parent, the host's init here, reaps it in its own time). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Wait until `cond` holds (a container's output arriving), up to 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** `create`, its standard streams (which the container keeps) in a file: the supervisor's pid joins the host check's. */
async function create(h: Host, root: string, b: string, id: string, out: string): Promise<{ code: number; pid: number }> {
  const fd = openSync(out, "w");
  const pidFile = join(root, "..", `${id}.pid`);
  let code: number;
  try {
    const proc = Bun.spawn({ cmd: [CTR, "--root", root, "--log", join(root, "..", "log.json"), "--log-format", "json", "create", "--bundle", b, "--pid-file", pidFile, id], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", fd, fd] });
    h.pids.push(proc.pid);
    code = await proc.exited;
  } finally {
    closeSync(fd);
  }
  const rec = existsSync(join(root, id, "state.json")) ? JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")) : null;
  if (rec?.supervisor) h.pids.push(rec.supervisor.pid);
  return { code, pid: code === 0 ? Number(readFileSync(pidFile, "utf8")) : 0 };
}

const PROBE = [
  "echo started",
  "echo host=$(hostname)",
  "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
  "echo timer_list=$(wc -c < /proc/timer_list)",
  "touch /x 2>/dev/null && echo root=rw || echo root=ro",
  "echo ulimit=$(ulimit -n)",
  "echo pid=$$",
  "sleep 100",
].join("; ");

describe("ctr as an OCI runtime", () => {
  itest("create waits with the command not executed; start runs it; state, kill and delete as runc's", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      mkdirSync(root);
      const b = await bundle(h, ["sh", "-c", PROBE]);
      const out = join(work, "out");
      const c = await create(h, root, b, "t1", out);
      expect(c.code).toBe(0);
      let state = JSON.parse((await oci(h, root, ["state", "t1"])).stdout);
      expect(state).toMatchObject({ ociVersion: expect.stringMatching(/^1\./), id: "t1", status: "created", pid: c.pid, bundle: b, annotations: {} });
      // PID 1 is ctr's agent, waiting: the command has not run.
      expect(readFileSync(`/proc/${c.pid}/comm`, "utf8").trim()).toBe("ctr-init");
      expect(readFileSync(out, "utf8")).toBe("");
      expect((await oci(h, root, ["start", "t1"])).code).toBe(0);
      await until(() => readFileSync(out, "utf8").includes("pid="), "the probe's output");
      const seen = readFileSync(out, "utf8");
      expect(seen).toContain("started\nhost=ctr\n");
      expect(seen).toContain("CapEff:\t0000000020000420"); // audit_write, kill, net_bind_service
      expect(seen).toContain("NoNewPrivs:\t1");
      expect(readFileSync("/proc/timer_list", "utf8").length).toBeGreaterThan(0);
      expect(seen).toContain("timer_list=0"); // masked: /dev/null bound over it
      expect(seen).toContain("root=ro");
      expect(seen).toContain("ulimit=1024");
      expect(seen).toContain("pid=1"); // the command is PID 1 of its namespace
      state = JSON.parse((await oci(h, root, ["state", "t1"])).stdout);
      expect(state).toMatchObject({ status: "running", pid: c.pid });
      expect(readFileSync(`/proc/${c.pid}/comm`, "utf8").trim()).toBe("sleep");
      // ps: its processes by host pid (containerd reads the JSON form): the shell, now sleep, is the only one.
      expect(JSON.parse((await oci(h, root, ["ps", "--format", "json", "t1"])).stdout)).toEqual([c.pid]);
      expect((await oci(h, root, ["ps", "t1"])).stdout).toBe(`PID\tCMD\n${c.pid}\tsleep 100\n`);
      // A running container is not deleted without --force.
      const busy = await oci(h, root, ["delete", "t1"]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain("cannot delete container t1 that is not stopped: running");
      expect((await oci(h, root, ["kill", "t1", "KILL"])).code).toBe(0);
      await until(() => JSON.parse(readFileSync(join(root, "t1", "state.json"), "utf8")).supervisor === null, "the supervisor's teardown");
      state = JSON.parse((await oci(h, root, ["state", "t1"])).stdout);
      expect(state).toMatchObject({ status: "stopped", pid: 0 });
      expect((await oci(h, root, ["delete", "t1"])).code).toBe(0);
      const gone = await oci(h, root, ["state", "t1"]);
      expect(gone.code).toBe(1);
      const last = readFileSync(join(work, "log.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).at(-1);
      expect(last).toMatchObject({ level: "error", msg: "container does not exist", time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    }),
    60_000,
  );

  itest("kill of a created container ends it before start; delete --force of a running one", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sleep", "100"]);
      expect((await create(h, root, b, "a", join(work, "a.out"))).code).toBe(0);
      expect((await oci(h, root, ["kill", "a", "9"])).code).toBe(0);
      await until(() => JSON.parse((Bun.spawnSync([CTR, "--root", root, "state", "a"]).stdout.toString() || "{}")).status === "stopped", "a stopped");
      const again = await oci(h, root, ["kill", "a", "9"]);
      expect([again.code, again.stderr]).toEqual([1, "ctr: container not running\n"]);
      const late = await oci(h, root, ["start", "a"]);
      expect(late.code).toBe(1);
      expect(late.stderr).toContain("cannot start a container that has stopped");
      expect((await oci(h, root, ["delete", "a"])).code).toBe(0);
      // A created container is deleted without --force, as by runc (its PID 1 killed, the teardown waited for).
      const cr = await create(h, root, b, "c", join(work, "c.out"));
      expect((await oci(h, root, ["delete", "c"])).code).toBe(0);
      expect(gone(cr.pid)).toBe(true);
      const r = await create(h, root, b, "b", join(work, "b.out"));
      expect((await oci(h, root, ["start", "b"])).code).toBe(0);
      expect(readFileSync(`/proc/${r.pid}/comm`, "utf8").trim()).toBe("sleep");
      expect((await oci(h, root, ["delete", "--force", "b"])).code).toBe(0);
      expect(existsSync(join(root, "b"))).toBe(false);
      expect(gone(r.pid)).toBe(true);
      // An id that is taken, and a list of what is left (nothing).
      expect((await oci(h, root, ["list", "--format", "json"])).stdout.trim()).toBe("[]");
    }),
    60_000,
  );

  itest("PID 1 let go: no ctr process left once started (the caller's subreaper reaps it); the supervisor killed by SIGKILL before start ends the container; delete leaves nothing", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sleep", "100"]);
      const c = await create(h, root, b, "k", join(work, "k.out"));
      // Created: stage 1 is gone, and PID 1 is the child of the subreaper above ctr (this test process, as conmon would be).
      const rec = JSON.parse(readFileSync(join(root, "k", "state.json"), "utf8"));
      expect(ppidOf(c.pid)).toBe(process.pid);
      process.kill(rec.supervisor.pid, "SIGKILL");
      await until(() => gone(c.pid), "PID 1 ended by its channel's EOF");
      expect(JSON.parse((await oci(h, root, ["state", "k"])).stdout).status).toBe("stopped");
      expect((await oci(h, root, ["delete", "k"])).code).toBe(0);
      // Started: the command is PID 1 and nothing of ctr's runs for it; delete --force kills it and removes its cgroups and directory.
      const d = await create(h, root, b, "d", join(work, "d.out"));
      const sup = JSON.parse(readFileSync(join(root, "d", "state.json"), "utf8")).supervisor.pid;
      expect((await oci(h, root, ["start", "d"])).code).toBe(0);
      await until(() => gone(sup), "the supervisor's exit after start");
      expect(JSON.parse(readFileSync(join(root, "d", "state.json"), "utf8"))).toMatchObject({ status: "running", supervisor: null });
      expect(JSON.parse((await oci(h, root, ["state", "d"])).stdout)).toMatchObject({ status: "running", pid: d.pid });
      expect((await oci(h, root, ["delete", "--force", "d"])).code).toBe(0);
      expect(gone(d.pid)).toBe(true);
      expect(existsSync(join(root, "d"))).toBe(false);
    }),
    60_000,
  );

  itest("pause freezes every process of the container (its own freezer cgroup), state and list say paused, exec is refused; resume lets it go on; kill and delete --force of a paused one", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      // A counter the container writes 20 times a second, in its /dev/shm (a tmpfs of its own: the root is read-only).
      const b = await bundle(h, ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.05; done"]);
      const count = (pid: number): number => Number(readFileSync(`/proc/${pid}/root/dev/shm/n`, "utf8").trim() || "0");
      for (const [id, end] of [["p", "delete"], ["q", "kill"]] as const) {
        const c = await create(h, root, b, id, join(work, `${id}.out`));
        expect((await oci(h, root, ["start", id])).code).toBe(0);
        await until(() => existsSync(`/proc/${c.pid}/root/dev/shm/n`) && count(c.pid) > 2, "the counter");
        // The container's freezer cgroup is its own (never the host's), named in the record so that delete removes it.
        const held = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")).held.cgroups as string[];
        const fz = held.find((d) => existsSync(`${d}/freezer.state`) || existsSync(`${d}/cgroup.freeze`));
        expect(fz).toBeDefined();
        expect(readFileSync(`/proc/${c.pid}/cgroup`, "utf8")).toContain(fz!.slice(fz!.lastIndexOf("/")));
        expect((await oci(h, root, ["pause", id])).code).toBe(0);
        expect(JSON.parse((await oci(h, root, ["state", id])).stdout)).toMatchObject({ status: "paused", pid: c.pid });
        expect(JSON.parse((await oci(h, root, ["list", "--format", "json"])).stdout).find((s: { id: string }) => s.id === id).status).toBe("paused");
        const frozen = count(c.pid);
        await Bun.sleep(400);
        expect(count(c.pid)).toBe(frozen);
        const again = await oci(h, root, ["pause", id]);
        expect([again.code, again.stderr]).toEqual([1, "ctr: container already paused\n"]);
        const ex = await oci(h, root, ["exec", id, "true"]);
        expect([ex.code, ex.stderr]).toEqual([1, "ctr: cannot exec in a paused container (use --ignore-paused to override)\n"]);
        const busy = await oci(h, root, ["delete", id]);
        expect([busy.code, busy.stderr]).toEqual([1, `ctr: cannot delete container ${id} that is not stopped: paused\n`]);
        expect((await oci(h, root, ["resume", id])).code).toBe(0);
        expect(JSON.parse((await oci(h, root, ["state", id])).stdout).status).toBe("running");
        await until(() => count(c.pid) > frozen + 2, "the counter going on after resume");
        const notPaused = await oci(h, root, ["resume", id]);
        expect([notPaused.code, notPaused.stderr]).toEqual([1, "ctr: container not paused\n"]);
        // Paused again, then ended: delete --force, or kill KILL (the SIGKILL is delivered once thawed), then delete.
        expect((await oci(h, root, ["pause", id])).code).toBe(0);
        if (end === "kill") {
          expect((await oci(h, root, ["kill", id, "KILL"])).code).toBe(0);
          await until(() => gone(c.pid), "the paused container killed");
          expect((await oci(h, root, ["delete", id])).code).toBe(0);
        } else expect((await oci(h, root, ["delete", "--force", id])).code).toBe(0);
        expect(gone(c.pid)).toBe(true);
        expect(existsSync(fz!)).toBe(false);
      }
    }),
    60_000,
  );

  itest("update: runc's flags and --resources (a file, or - for standard input) change the container's cgroups; a fork beyond the new pids limit fails inside; fields ctr cannot change are refused by name", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const place = `/ctr-it-update-${process.pid}/c`;
      const b = await bundle(h, ["sleep", "100"], (c) => (c.linux.cgroupsPath = place));
      const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
      expect((await create(h, root, b, "u", join(work, "u.out"))).code).toBe(0);
      try {
        expect((await oci(h, root, ["start", "u"])).code).toBe(0);
        const file = (ctl: string, v1: string, v2f: string) => readFileSync(v2 ? `/sys/fs/cgroup${place}/${v2f}` : `/sys/fs/cgroup/${ctl}${place}/${v1}`, "utf8").trim();
        const up = await oci(h, root, ["update", "--memory", String(96 * 1024 * 1024), "--pids-limit", "3", "--cpu-quota", "25000", "--cpu-period", "100000", "--cpu-shares", "256", "u"]);
        expect([up.code, up.stderr]).toEqual([0, ""]);
        expect(file("memory", "memory.limit_in_bytes", "memory.max")).toBe(String(96 * 1024 * 1024));
        expect(file("pids", "pids.max", "pids.max")).toBe("3");
        if (v2) expect(file("cpu", "", "cpu.max")).toBe("25000 100000");
        else {
          expect(file("cpu", "cpu.cfs_quota_us", "")).toBe("25000");
          expect(file("cpu", "cpu.shares", "")).toBe("256");
        }
        // From inside: the exec'd shell and PID 1 are two of the three, so the second background sleep cannot be forked.
        const fork = await oci(h, root, ["exec", "u", "sh", "-c", "sleep 1 & sleep 1 & sleep 1 & wait"]);
        expect(fork.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
        // --resources from standard input, in linux.resources' form.
        const res = join(work, "res.json");
        writeFileSync(res, JSON.stringify({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } }));
        const p = Bun.spawnSync([CTR, "--root", root, "update", "--resources", "-", "u"], { stdin: Bun.file(res), stderr: "pipe" });
        expect([p.exitCode, p.stderr.toString()]).toEqual([0, ""]);
        expect(file("memory", "memory.limit_in_bytes", "memory.max")).toBe(String(64 * 1024 * 1024));
        expect(file("pids", "pids.max", "pids.max")).toBe("50");
        const ok = await oci(h, root, ["exec", "u", "sh", "-c", "sleep 0.1 & sleep 0.1 & sleep 0.1 & wait; echo forked"]);
        expect([ok.code, ok.stdout]).toEqual([0, "forked\n"]);
        // Refused by name, nothing written.
        writeFileSync(res, JSON.stringify({ memory: { limit: 32 * 1024 * 1024 }, blockIO: { weight: 10 } }));
        const bad = await oci(h, root, ["update", "--resources", res, "u"]);
        expect([bad.code, bad.stderr]).toEqual([1, "ctr: update: resources.blockIO is not supported yet: ctr changes resources.memory, resources.cpu, resources.pids\n"]);
        expect(file("memory", "memory.limit_in_bytes", "memory.max")).toBe(String(64 * 1024 * 1024));
        const km = await oci(h, root, ["update", "--kernel-memory", "1000000", "u"]);
        expect([km.code, km.stderr]).toEqual([1, "ctr: update --kernel-memory is not supported yet\n"]);
      } finally {
        expect((await oci(h, root, ["delete", "--force", "u"])).code).toBe(0);
      }
      expect(existsSync(`/sys/fs/cgroup/${v2 ? "" : "pids"}${place}`)).toBe(false);
      // A container without a memory cgroup of its own (no cgroupsPath, no limit): refused, naming what is missing.
      const plain = await bundle(h, ["sleep", "100"]);
      expect((await create(h, root, plain, "w", join(work, "w.out"))).code).toBe(0);
      const none = await oci(h, root, ["update", "--memory", "100000000", "w"]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("update: memory is not supported yet for this container: it has no memory cgroup of its own");
      expect((await oci(h, root, ["delete", "--force", "w"])).code).toBe(0);
    }),
    60_000,
  );

  itest("exec: a process in the running container, its status relayed; --detach lets it go with its pid in --pid-file; --process's fields translated", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sleep", "100"], (c) => {
        c.process.env = [...c.process.env, "FROM_CONFIG=yes"];
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
      });
      const c = await create(h, root, b, "x", join(work, "x.out"));
      try {
        expect((await oci(h, root, ["start", "x"])).code).toBe(0);
        // The config's process with these args: its env, its namespaces (PID 1 is the config's command, the hostname the config's).
        const r = await oci(h, root, ["exec", "x", "sh", "-c", "echo $FROM_CONFIG $(hostname) $(cat /proc/1/comm); grep CapEff /proc/self/status; exit 6"]);
        expect([r.code, r.stdout]).toEqual([6, "yes ctr sleep\nCapEff:\t0000000020000420\n"]);
        // --process, as conmon and the shim give it: cwd, env, args; detached, the pid written.
        const proc = join(work, "process.json");
        writeFileSync(proc, JSON.stringify({ args: ["sh", "-c", `echo $A $(pwd) > /tmp/seen; sleep 100`], cwd: "/tmp", env: ["A=from-process", "PATH=/bin"], user: { uid: 0, gid: 0 } }));
        const pidFile = join(work, "exec.pid");
        // Its standard streams in a file, not a pipe: the detached process keeps them, so a pipe would not end.
        const fd = openSync(join(work, "exec.out"), "w");
        let code: number;
        try {
          const p = Bun.spawn({ cmd: [CTR, "--root", root, "exec", "--process", proc, "--detach", "--pid-file", pidFile, "x"], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", fd, fd] });
          h.pids.push(p.pid);
          code = await p.exited;
        } finally {
          closeSync(fd);
        }
        expect([code, readFileSync(join(work, "exec.out"), "utf8")]).toEqual([0, ""]);
        const pid = Number(readFileSync(pidFile, "utf8"));
        // In the container's PID namespace, and the child of the subreaper above ctr (this test process), not of a ctr process.
        expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^NSpid:\t\d+\t\d+$/m);
        expect(ppidOf(pid)).toBe(process.pid);
        await until(() => existsSync(`/proc/${c.pid}/root/tmp/seen`), "the detached process's file");
        expect(readFileSync(`/proc/${c.pid}/root/tmp/seen`, "utf8")).toBe("from-process /tmp\n");
        // What ctr cannot honour is refused by name, before anything starts.
        const tty = await oci(h, root, ["exec", "--tty", "x", "sh"]);
        expect([tty.code, tty.stderr]).toEqual([1, "ctr: exec --tty is not supported yet: a pseudo-terminal for the process (and --console-socket)\n"]);
        writeFileSync(proc, JSON.stringify({ args: ["true"], cwd: "/", oomScoreAdj: 5 }));
        const bad = await oci(h, root, ["exec", "--process", proc, "x"]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("`process.oomScoreAdj` is not supported yet");
        // delete --force ends both: PID 1 and the exec'd process (its PID namespace goes with PID 1).
        expect((await oci(h, root, ["delete", "--force", "x"])).code).toBe(0);
        await until(() => gone(pid), "the exec'd process's end");
      } finally {
        await oci(h, root, ["delete", "--force", "x"]); // a failure above still removes the container's cgroups and directory
      }
    }),
    60_000,
  );

  itest("a namespace by path is joined: the container's network namespace is the one the path names", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      // A network namespace held by a process of the test's own.
      const holder = Bun.spawn({ cmd: ["unshare", "--net", "sleep", "100"], stdio: ["ignore", "ignore", "inherit"] });
      try {
        let ns = "";
        await until(() => {
          try {
            ns = readlinkSync(`/proc/${holder.pid}/ns/net`);
            return ns !== readlinkSync("/proc/self/ns/net");
          } catch {
            return false;
          }
        }, "the holder's network namespace");
        const b = await bundle(h, ["sh", "-c", "readlink /proc/self/ns/net; ls /sys/class/net"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "network" ? { type: "network", path: `/proc/${holder.pid}/ns/net` } : n));
        });
        const r = await oci(h, root, ["run", "--bundle", b, "p1"]);
        expect([r.code, r.stdout]).toEqual([0, `${ns}\nlo\n`]);
        // A path that is no network namespace: said, nothing made.
        const bad = await bundle(h, ["true"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "network" ? { type: "network", path: `/proc/${holder.pid}/ns/uts` } : n));
        });
        const e = await oci(h, root, ["run", "--bundle", bad, "p2"]);
        expect(e.code).toBe(1);
        expect(e.stderr).toContain(`joining the net namespace at "/proc/${holder.pid}/ns/uts"`);
      } finally {
        holder.kill("SIGKILL");
        await holder.exited;
      }
    }),
    60_000,
  );

  itest("run relays the exit status and removes the record; a field ctr cannot honour fails create, named in the JSON log", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sh", "-c", "echo out; exit 3"]);
      const r = await oci(h, root, ["run", "--bundle", b, "r1"]);
      expect(r.stdout).toBe("out\n");
      expect(r.code).toBe(3);
      expect(existsSync(join(root, "r1"))).toBe(false);
      // linux.seccomp and linux.sysctl, seen from inside: mkdir refused with the profile's errno (EPERM), the UTS namespace's domainname set.
      const sec = await bundle(h, ["sh", "-c", "mkdir /tmp/d 2>&1; echo dom=$(cat /proc/sys/kernel/domainname)"], (c) => {
        c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
        c.linux.sysctl = { "kernel.domainname": "oci-dom" };
      });
      const s = await oci(h, root, ["run", "--bundle", sec, "r2"]);
      expect(s.stdout).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted\n/);
      expect(s.stdout).toContain("dom=oci-dom\n");
      expect(existsSync(join(root, "r2"))).toBe(false);
      // A terminal needs a console socket to send its master to (as runc says).
      const tty = await bundle(h, ["true"], (c) => (c.process.terminal = true));
      const t = await oci(h, root, ["run", "--bundle", tty, "r3"]);
      expect(t.code).toBe(1);
      expect(t.stderr).toContain("process.terminal is true, but no --console-socket was given");
      const bad = await bundle(h, ["true"], (c) => (c.linux.intelRdt = { closID: "x" }));
      const c = await create(h, root, bad, "bad", join(work, "bad.out"));
      expect(c.code).toBe(1);
      expect(existsSync(join(root, "bad"))).toBe(false);
      const last = readFileSync(join(work, "log.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).at(-1);
      expect(last.level).toBe("error");
      expect(last.msg).toContain("config.json:/linux/intelRdt");
      expect(last.msg).toContain("`linux.intelRdt` is not supported yet");
      expect(readFileSync(join(work, "bad.out"), "utf8")).toContain("`linux.intelRdt` is not supported yet");
    }),
    60_000,
  );
});
