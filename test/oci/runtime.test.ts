// ctr as an OCI runtime, for real (as root): a busybox bundle from `ctr spec`
// through create, state, start, kill and delete with runc's command line,
// the effect of the config's fields checked from inside, `run` relaying the
// exit status, errors in the JSON log as containerd and podman read them; and
// nothing left on the host (test/integration/host-state.ts), the
// supervisor's own traces included.

import { describe, expect } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { accept, AF_UNIX, bind, close, listen, pollReadable, recvFds, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, socket, unixAddress, waitpid } from "../../native/index.ts";
import { canLowerOomScore } from "../../runtime/features/cgroup/oom.ts";
import { busyboxRootfs } from "./busybox.ts";
import { CTR, REPO, itest, onHost, type Host } from "../integration/host-state.ts";
import { holdNamespace } from "./nsholder.ts";

const bb = busyboxRootfs("ctr-it-oci-");

/** A bundle: `ctr spec`'s config with `args` (and `edit` applied), its root the busybox rootfs. */
async function bundle(h: Host, args: string[], edit: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const b = h.scratch();
  const r = await h.ctr(["spec", "--bundle", b]);
  expect(r.code).toBe(0);
  const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  cfg.root.path = bb.path;
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

/**
 * A console socket as runc's recvtty makes one (conmon and containerd's shim
 * alike): listening at `file`; take() accepts the runtime's connection and
 * receives the terminal's master with the slave's name, up to 10 s.
 */
function consoleSocket(file: string): { take(): Promise<{ name: string; master: number }>; close(): void } {
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK);
  bind(fd, unixAddress(file));
  listen(fd, 1);
  const wait = async (sock: number, what: string) => {
    const end = Date.now() + 10_000;
    while (pollReadable([sock], 0).length === 0) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await Bun.sleep(10);
    }
  };
  return {
    async take() {
      await wait(fd, "the runtime's connection to the console socket");
      const conn = accept(fd);
      try {
        await wait(conn, "the terminal's master");
        const buf = new Uint8Array(4096);
        const r = recvFds(conn, buf, 1);
        if (r.fds.length !== 1) throw new Error(`the console socket got ${r.fds.length} fds (${r.bytes} bytes)`);
        return { name: new TextDecoder().decode(buf.subarray(0, r.bytes)), master: r.fds[0]! };
      } finally {
        close(conn);
      }
    },
    close() {
      close(fd);
      rmSync(file, { force: true });
    },
  };
}

/**
 * What a terminal's master reads until its end (EIO: no process holds the slave any more), up to 10 s; closes it.
 * With `until`, it returns as soon as the output matches, and keeps the master open: a test types only after the
 * command's first output, since the line discipline echoes input at once and an early echo lands before that output.
 */
async function readMaster(master: number, until?: RegExp): Promise<string> {
  let out = "";
  const buf = Buffer.alloc(4096);
  const end = Date.now() + 10_000;
  let keep = false;
  try {
    for (;;) {
      if (until?.test(out.replaceAll("\r", ""))) return ((keep = true), out);
      if (pollReadable([master], 0).length === 0) {
        if (Date.now() > end) throw new Error(`timed out reading the terminal; it showed:\n${out}`);
        await Bun.sleep(10);
        continue;
      }
      let n: number;
      try {
        n = readSync(master, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EIO") return out;
        throw e;
      }
      if (n === 0) return out;
      out += buf.toString("utf8", 0, n);
    }
  } finally {
    if (!keep) close(master);
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
      // The cgroups path and the parent made for it are gone in every hierarchy (the host check looks only for ctr's names).
      const parent = place.slice(0, place.lastIndexOf("/"));
      for (const hier of v2 ? [""] : readdirSync("/sys/fs/cgroup")) expect(existsSync(`/sys/fs/cgroup/${hier}${parent}`)).toBe(false);
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
        writeFileSync(proc, JSON.stringify({ args: ["true"], cwd: "/", apparmorProfile: "unconfined" }));
        const bad = await oci(h, root, ["exec", "--process", proc, "x"]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("`process.apparmorProfile` is not supported yet");
        // delete --force ends both: PID 1 and the exec'd process (its PID namespace goes with PID 1).
        expect((await oci(h, root, ["delete", "--force", "x"])).code).toBe(0);
        await until(() => gone(pid), "the exec'd process's end");
      } finally {
        await oci(h, root, ["delete", "--force", "x"]); // a failure above still removes the container's cgroups and directory
      }
    }),
    60_000,
  );

  itest("exec with a terminal: --detach sends the master to the --console-socket (the slave's path as the message), the command's terminal is of the container's devpts, its size consoleSize's; without --detach ctr relays it itself", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sleep", "100"]);
      const c = await create(h, root, b, "t", join(work, "t.out"));
      try {
        expect((await oci(h, root, ["start", "t"])).code).toBe(0);
        // As conmon and containerd's shim call it: --detach, --process with `terminal`, a console socket they listen on.
        const proc = join(work, "process.json");
        const probe = "echo tty=$(tty); stty size; echo sid=$(cut -d' ' -f6 /proc/$$/stat) self=$$; read line; echo got-$line; exit 5";
        writeFileSync(proc, JSON.stringify({ args: ["sh", "-c", probe], cwd: "/", env: ["PATH=/bin:/usr/bin"], terminal: true, consoleSize: { height: 7, width: 33 }, user: { uid: 0, gid: 0 } }));
        const sock = consoleSocket(join(work, "console.sock"));
        const pidFile = join(work, "tty.pid");
        let got: { name: string; master: number };
        try {
          const ex = oci(h, root, ["exec", "--detach", "--console-socket", join(work, "console.sock"), "--pid-file", pidFile, "--process", proc, "t"]);
          got = await sock.take();
          const r = await ex;
          expect([r.code, r.stdout, r.stderr]).toEqual([0, "", ""]);
        } finally {
          sock.close();
        }
        expect(got.name).toMatch(/^\/dev\/pts\/\d+$/);
        const pid = Number(readFileSync(pidFile, "utf8"));
        // The terminal is of the container's devpts instance (not the host's), and the command's controlling terminal.
        expect(statSync(`/proc/${pid}/fd/0`).dev).not.toBe(statSync("/dev/pts/ptmx").dev);
        expect(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[4]).not.toBe("0"); // tty_nr
        const first = await readMaster(got.master, /self=\d+\n/);
        writeSync(got.master, "typed\n");
        const out = (first + (await readMaster(got.master))).replaceAll("\r", "");
        expect(out).toContain(`tty=${got.name}\n7 33\n`);
        const ids = /sid=(\d+) self=(\d+)/.exec(out);
        expect(ids?.[1]).toBe(ids?.[2]); // a session of its own
        expect(out).toContain("got-typed\n");
        // Its status is the subreaper's (this test process) to read, as conmon reads it.
        expect(waitpid(pid, 0).exitCode).toBe(5);
        // runc's rules: a detached terminal needs a console socket, and a console socket --detach and a terminal.
        const none = await oci(h, root, ["exec", "--detach", "--tty", "t", "true"]);
        expect([none.code, none.stderr]).toEqual([1, "ctr: exec: cannot allocate a terminal with --detach without a --console-socket to send its master to\n"]);
        const attached = await oci(h, root, ["exec", "--tty", "--console-socket", join(work, "console.sock"), "t", "true"]);
        expect([attached.code, attached.stderr]).toEqual([1, "ctr: exec: --console-socket needs --detach and a terminal (--tty, or `process.terminal`)\n"]);
        // Without --detach: ctr's own console, the output through the master, the status relayed.
        const own = await oci(h, root, ["exec", "--tty", "t", "sh", "-c", "tty; exit 6"]);
        expect(own.code).toBe(6);
        expect(own.stdout.replaceAll("\r", "")).toMatch(/^\/dev\/pts\/\d+\n$/);
      } finally {
        await oci(h, root, ["delete", "--force", "t"]);
      }
      expect(c.code).toBe(0);
    }),
    60_000,
  );

  itest("create with process.terminal: the master reaches the --console-socket at create, the command's terminal starts at process.consoleSize's size; a bad size is an error at its pointer", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const b = await bundle(h, ["sh", "-c", "echo tty=$(tty); stty size; read line; echo got-$line; exit 3"], (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 11, width: 57 };
      });
      const sock = consoleSocket(join(work, "console.sock"));
      let got: { name: string; master: number };
      try {
        const proc = Bun.spawn({ cmd: [CTR, "--root", root, "create", "--bundle", b, "--console-socket", join(work, "console.sock"), "c"], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", "pipe", "pipe"] });
        h.pids.push(proc.pid);
        got = await sock.take();
        expect(await proc.exited).toBe(0);
      } finally {
        sock.close();
      }
      try {
        expect(got.name).toMatch(/^\/dev\/pts\/\d+$/);
        expect((await oci(h, root, ["start", "c"])).code).toBe(0);
        const first = await readMaster(got.master, /11 57\n/);
        writeSync(got.master, "typed\n");
        const out = (first + (await readMaster(got.master))).replaceAll("\r", "");
        expect(out).toContain(`tty=${got.name}\n11 57\n`);
        expect(out).toContain("got-typed\n");
      } finally {
        await oci(h, root, ["delete", "--force", "c"]);
      }
      // Checked with the rest of the config, before anything is made: the field's pointer named.
      const bad = await bundle(h, ["true"], (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: -1, width: 80 };
      });
      const r = await h.ctr(["check", bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("/process/consoleSize/height");
      expect(r.stderr).toContain("`process.consoleSize.height` must be a whole number from 0 to 65535");
    }),
    60_000,
  );

  itest("a namespace by path is joined: the container's network namespace is the one the path names", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      // A network namespace held by a process of the test's own.
      const holder = await holdNamespace("net", ["--net"]);
      const ns = holder.ns;
      try {
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
        await holder.stop();
      }
    }),
    60_000,
  );

  itest("a cgroup namespace by path is joined: the container's cgroup namespace is the one the path names", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      const holder = await holdNamespace("cgroup", ["--cgroup"]);
      const ns = holder.ns;
      try {
        const b = await bundle(h, ["readlink", "/proc/self/ns/cgroup"], (c) => c.linux.namespaces.push({ type: "cgroup", path: `/proc/${holder.pid}/ns/cgroup` }));
        const r = await oci(h, root, ["run", "--bundle", b, "cg1"]);
        expect([r.code, r.stdout, r.stderr]).toEqual([0, `${ns}\n`, ""]);
      } finally {
        await holder.stop();
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
  itest("hooks: poststart runs on the host after the command is executed and before start returns, poststop as delete and run remove the container; each with the state on stdin; a failing or timed-out hook is a warning and the rest run; a prestart hook runs at create", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const ev = h.scratch();
      // Each hook's evidence: its stdin (the state), its mount namespace, and, at poststart, the comm of the state's pid.
      const hook = (name: string, extra = "") => ({
        path: "/bin/sh",
        args: ["sh", "-c", `cat > "$EV/${name}.json"; readlink /proc/self/ns/mnt > "$EV/${name}.ns"; ${extra} echo ${name} >> "$EV/order"`],
        env: [`EV=${ev}`],
      });
      const pidComm = `pid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/' "$EV/poststart.json"); cat /proc/$pid/comm > "$EV/poststart.comm";`;
      const b = await bundle(h, ["sleep", "100"], (c) => {
        c.hooks = {
          poststart: [hook("poststart", pidComm), { path: "/bin/false" }, hook("poststart2")],
          poststop: [hook("poststop"), { path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }],
        };
      });
      const c = await create(h, root, b, "hk", join(work, "hk.out"));
      expect(c.code).toBe(0);
      expect(existsSync(join(ev, "order"))).toBe(false); // no hook at create
      expect((await oci(h, root, ["start", "hk"])).code).toBe(0);
      writeFileSync(join(ev, "order"), "start returned\n", { flag: "a" });
      const state = JSON.parse(readFileSync(join(ev, "poststart.json"), "utf8"));
      expect(state).toMatchObject({ ociVersion: expect.stringMatching(/^1\./), id: "hk", status: "running", pid: c.pid, bundle: b });
      expect(readFileSync(join(ev, "poststart.comm"), "utf8").trim()).toBe("sleep"); // the command was executed
      // The runtime's namespace (the host's), not the container's.
      expect(readFileSync(join(ev, "poststart.ns"), "utf8").trim()).toBe(readlinkSync("/proc/self/ns/mnt"));
      expect(readlinkSync(`/proc/${c.pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
      expect(readFileSync(join(ev, "order"), "utf8")).toBe("poststart\npoststart2\nstart returned\n");
      expect((await oci(h, root, ["kill", "hk", "KILL"])).code).toBe(0);
      await until(() => gone(c.pid), "the container's end");
      expect(existsSync(join(ev, "poststop.json"))).toBe(false);
      expect((await oci(h, root, ["delete", "hk"])).code).toBe(0);
      expect(JSON.parse(readFileSync(join(ev, "poststop.json"), "utf8"))).toMatchObject({ id: "hk", status: "stopped", bundle: b });
      expect(readFileSync(join(ev, "order"), "utf8")).toBe("poststart\npoststart2\nstart returned\npoststop\n");
      const log = readFileSync(join(work, "log.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const warned = log.filter((l) => l.level === "warning").map((l) => l.msg);
      expect(warned).toContainEqual("poststart hook 1 (/bin/false) exited with status 1");
      expect(warned).toContainEqual("poststop hook 1 (/bin/sleep) timed out after 1 s");
      // run: poststop as it removes its record.
      const rb = await bundle(h, ["true"], (c) => (c.hooks = { poststop: [hook("runstop")] }));
      expect((await oci(h, root, ["run", "--bundle", rb, "hr"])).code).toBe(0);
      expect(JSON.parse(readFileSync(join(ev, "runstop.json"), "utf8"))).toMatchObject({ id: "hr", status: "stopped" });
      // prestart runs at create, on the host, before the command (test/oci/hooks.test.ts has every kind).
      const pre = await bundle(h, ["true"], (c) => (c.hooks = { prestart: [hook("prestart")] }));
      expect((await create(h, root, pre, "pre", join(work, "pre.out"))).code).toBe(0);
      expect(JSON.parse(readFileSync(join(ev, "prestart.json"), "utf8"))).toMatchObject({ id: "pre", status: "creating" });
      expect((await oci(h, root, ["delete", "pre"])).code).toBe(0);
    }),
    60_000,
  );
  itest("item 2's fields seen from inside: oomScoreAdj (create and exec), additionalGids, rootfsPropagation and a private mount, cpuset, a device cgroup rule", () =>
    onHost(async (h) => {
      const work = h.scratch();
      const root = join(work, "root");
      const probe = [
        "echo oom=$(cat /proc/self/oom_score_adj)",
        "grep '^Groups:' /proc/self/status",
        "grep '^Cpus_allowed_list:' /proc/self/status",
        "echo root: $(awk '$5 == \"/\"' /proc/self/mountinfo)",
        "echo tmp: $(grep ' / /tmp ' /proc/self/mountinfo)",
        "head -c1 /dev/zero >/dev/null 2>&1 && echo zero=ok || echo zero=denied",
        "echo x > /dev/null && echo null=ok",
      ].join("; ");
      const b = await bundle(h, ["sh", "-c", probe], (c) => {
        c.process.oomScoreAdj = 321;
        c.process.user = { uid: 0, gid: 0, additionalGids: [10, 20] };
        c.linux.rootfsPropagation = "rprivate";
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["rprivate", "nosuid"] });
        c.linux.resources.cpu = { cpus: "0" };
        // The device cgroup's rules: runc's base (deny all, the default devices allowed), then /dev/zero (c 1:5) denied.
        c.linux.resources.devices.push({ allow: false, type: "c", major: 1, minor: 5, access: "rwm" });
      });
      const r = await oci(h, root, ["run", "--bundle", b, "f1"]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(readFileSync("/proc/self/oom_score_adj", "utf8").trim()).not.toBe("321");
      expect(r.stdout).toContain("oom=321\n");
      expect(r.stdout).toContain("Groups:\t10 20 \n");
      expect(r.stdout).toContain("Cpus_allowed_list:\t0\n");
      expect(r.stdout).toContain("zero=denied\nnull=ok\n");
      // The root and the tmpfs are mounts of their own, private: no shared: or master: peer group in their optional fields.
      const line = (name: string) => r.stdout.split("\n").find((l) => l.startsWith(`${name}: `)) ?? "";
      for (const name of ["root", "tmp"]) {
        expect(line(name)).toMatch(/ - /);
        expect(line(name)).not.toMatch(/shared:|master:/);
      }
      // exec's process.oomScoreAdj: the exec'd command gets it.
      const eb = await bundle(h, ["sleep", "100"]);
      expect((await create(h, root, eb, "f2", join(work, "f2.out"))).code).toBe(0);
      expect((await oci(h, root, ["start", "f2"])).code).toBe(0);
      const pf = join(work, "process.json");
      const execWith = (score: number) => {
        writeFileSync(pf, JSON.stringify({ args: ["cat", "/proc/self/oom_score_adj"], cwd: "/", env: ["PATH=/bin"], oomScoreAdj: score }));
        return oci(h, root, ["exec", "--process", pf, "f2"]);
      };
      try {
        const e = await execWith(555);
        expect([e.code, e.stdout, e.stderr]).toEqual([0, "555\n", ""]);
        // Lowering a score needs CAP_SYS_RESOURCE: without it (root in some sandboxes, as here at times) an error naming the field.
        const low = await execWith(-17);
        if (canLowerOomScore()) expect([low.code, low.stdout]).toEqual([0, "-17\n"]);
        else expect([low.code, low.stderr]).toEqual([1, "ctr: `process.oomScoreAdj` -17 cannot be set: lowering a score needs CAP_SYS_RESOURCE, which ctr lacks here\n"]);
      } finally {
        expect((await oci(h, root, ["delete", "--force", "f2"])).code).toBe(0);
      }
    }),
    60_000,
  );
});
