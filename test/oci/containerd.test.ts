// containerd with ctr as its OCI runtime, for real (as root, issue 18's
// acceptance): a containerd of the test's own (its config, root, state and
// socket in a temporary directory; started and stopped by this test, by PID),
// a busybox image imported from an OCI archive built from a busybox rootfs (no
// network here), and containerd's client, /usr/bin/ctr (not ours: the same
// name, hence the absolute path), running it with `run --runc-binary bin/ctr`.
// containerd's shim calls ctr with runc's command line (--root, --log,
// --log-format json, create/start/state/kill/delete/exec/ps/pause/resume) and, as a
// subreaper, reaps the container's PID 1 once `create` lets it go.
//
// After each test: nothing of ctr's on the host (test/integration/host-state.ts:
// mounts, processes, state directories, cgroups), no cgroup left at
// containerd's cgroups path (/NAMESPACE/ID), no record in the OCI root the
// shim names. containerd itself is this test's child for the whole file, so
// the check leaves its pid out (and does not kill it).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ociArchive } from "../image/archives.ts";
import { CTR, Host, IS_ROOT, itest } from "../integration/host-state.ts";
import { throughPty, TTY_PROBE } from "./pty.ts";
import { killClientOnceReady } from "./client.ts";

const CONTAINERD = Bun.which("containerd");
/** containerd's own client, by its absolute path: `ctr` on PATH may be ours. */
const CLIENT = ["/usr/bin/ctr", "/usr/local/bin/ctr"].find((p) => existsSync(p) && Bun.spawnSync([p, "--version"]).stdout.toString().includes("containerd"));
const NS = "ctrtest";
const IMAGE = "localhost/ctr-test-bb:latest";
/** The OCI root containerd's runc shim gives its runtime for namespace NS. */
const SHIM_ROOT = `/run/containerd/runc/${NS}`;
const why = !CONTAINERD ? "containerd is not installed (apt-get install containerd)" : !CLIENT ? "containerd's client /usr/bin/ctr is not installed" : "";

let dir = "";
let daemon: ReturnType<typeof Bun.spawn> | null = null;
/** Whether /run/containerd was there before: the shim makes its sockets, fifos and our OCI root below it. */
let runDirExisted = true;

function client(args: string[]) {
  return Bun.spawn({ cmd: [CLIENT!, "--address", join(dir, "containerd.sock"), "--namespace", NS, ...args], stdout: "pipe", stderr: "pipe", stdin: "ignore" });
}

async function cd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = client(args);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** Cgroups at containerd's path for its containers (/NS/ID) in any hierarchy. */
function nsCgroups(): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    try {
      for (const n of readdirSync(join("/sys/fs/cgroup", h, NS), { withFileTypes: true })) if (n.isDirectory()) out.push(join("/sys/fs/cgroup", h, NS, n.name));
    } catch {
      // none in this hierarchy
    }
  }
  return out;
}

beforeAll(async () => {
  if (!IS_ROOT || why) return;
  runDirExisted = existsSync("/run/containerd");
  nsParentsBefore = nsParents();
  dir = mkdtempSync(join(tmpdir(), "ctr-containerd-"));
  writeFileSync(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${dir}/containerd.sock"`,
      "[ttrpc]",
      `  address = "${dir}/containerd.sock.ttrpc"`,
      "[debug]",
      `  address = "${dir}/debug.sock"`,
      "",
    ].join("\n"),
  );
  daemon = Bun.spawn({ cmd: [CONTAINERD!, "--config", join(dir, "config.toml")], stdout: Bun.file(join(dir, "containerd.log")), stderr: Bun.file(join(dir, "containerd.log")), stdin: "ignore" });
  for (let i = 0; ; i++) {
    if ((await cd(["version"])).code === 0) break;
    if (i > 200) throw new Error(`containerd did not come up: ${readFileSync(join(dir, "containerd.log"), "utf8").slice(-2000)}`);
    await Bun.sleep(50);
  }
  // The image: one layer, the busybox rootfs `ctr rootfs busybox` makes, as an OCI archive.
  const rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  const layer = join(dir, "layer.tar");
  if (Bun.spawnSync(["tar", "-C", rootfs, "-cf", layer, "."]).exitCode !== 0) throw new Error("tar of the rootfs failed");
  const archive = await ociArchive(join(dir, "bb-oci.tar"), { layers: [readFileSync(layer)], name: IMAGE, config: { Cmd: ["/bin/sh"] } });
  const imp = await cd(["image", "import", archive]);
  if (imp.code !== 0) throw new Error(`ctr image import: ${imp.stderr}`);
}, 120_000);

afterAll(async () => {
  if (!dir) return;
  await cd(["image", "rm", IMAGE]);
  if (daemon) {
    daemon.kill("SIGTERM");
    await daemon.exited;
  }
  // The snapshotter's mounts are gone with the containers; containerd's root and state go with the directory.
  rmSync(dir, { recursive: true, force: true });
  // The shim's run directory (its sockets, fifos, and the OCI root it named, which ctr made as runc would), when it was not there before.
  if (!runDirExisted) rmSync("/run/containerd", { recursive: true, force: true });
  // The cgroup parents containerd made for its namespace (/NS in each hierarchy): no runtime removes them. Only
  // those this file made, and only empty ones (rmdir fails on a cgroup that has children or processes).
  for (const d of nsParents()) if (!nsParentsBefore.includes(d)) rmdirSync(d);
});

let nsParentsBefore: string[] = [];
/** The directories /sys/fs/cgroup/HIERARCHY/NS that exist: the parents of nsCgroups()'. */
function nsParents(): string[] {
  const top = "/sys/fs/cgroup";
  const mounts = existsSync(`${top}/cgroup.controllers`) ? [""] : readdirSync(top).map((h) => `/${h}`);
  return mounts.map((h) => `${top}${h}/${NS}`).filter((d) => existsSync(d));
}

/** The host check of test/integration/host-state.ts, containerd's own pid left out (it lives for the whole file). */
async function onHostWithDaemon(fn: (h: Host) => Promise<void>): Promise<void> {
  const h = new Host();
  let failure: unknown = null;
  try {
    await fn(h);
  } catch (e) {
    failure = e;
  }
  const found = (await h.leftovers()).filter((f) => !f.startsWith(`stray process ${daemon?.pid} `));
  rmSync(h.tmp, { recursive: true, force: true });
  if (failure) {
    if (found.length > 0 && failure instanceof Error) failure.message += `\n(and left behind: ${found.join("; ")})`;
    throw failure;
  }
  expect(found).toEqual([]);
}

function ctest(name: string, fn: () => Promise<void>, timeout = 60_000): void {
  if (IS_ROOT && why) {
    test(name, () => console.log(`skip: ${name}: ${why}; CI installs it`));
    return;
  }
  itest(name, fn, timeout);
}

describe("containerd with --runc-binary ctr", () => {
  ctest("run --rm relays the output and the exit status; run -d, then tasks ps, exec, kill; nothing left", () =>
    onHostWithDaemon(async () => {
      const before = nsCgroups();
      const r = await cd(["run", "--rm", "--runc-binary", CTR, IMAGE, "t1", "sh", "-c", "echo ok; echo err >&2; exit 5"]);
      expect([r.code, r.stdout, r.stderr]).toEqual([5, "ok\n", "err\n"]);
      const d = await cd(["run", "-d", "--runc-binary", CTR, IMAGE, "t2", "sleep", "100"]);
      expect(d.code).toBe(0);
      try {
        const ps = await cd(["tasks", "ps", "t2"]);
        expect(ps.code).toBe(0);
        const pid = Number(/^(\d+)\s/m.exec(ps.stdout.split("\n").slice(1).join("\n"))?.[1]);
        expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("sleep");
        const ex = await cd(["tasks", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in $(cat /proc/1/comm); exit 4"]);
        expect([ex.code, ex.stdout]).toEqual([4, "in sleep\n"]);
        expect((await cd(["tasks", "kill", "--signal", "KILL", "t2"])).code).toBe(0);
        for (let i = 0; i < 200 && !(await cd(["tasks", "ls"])).stdout.includes("STOPPED"); i++) await Bun.sleep(20);
      } finally {
        await cd(["tasks", "delete", "--force", "t2"]);
        await cd(["containers", "delete", "t2"]);
      }
      expect(nsCgroups()).toEqual(before);
      expect(existsSync(SHIM_ROOT) ? readdirSync(SHIM_ROOT) : []).toEqual([]);
    }),
  );
  ctest("tasks exec -t through a pty (script): the shim gets the master on its console socket, the command is on a terminal of the container's, what is typed reaches it, its status comes back", () =>
    onHostWithDaemon(async (h) => {
      const script = Bun.which("script");
      if (!script) {
        console.log("skip: tasks exec -t: script(1) is not installed (apt-get install bsdutils)");
        return;
      }
      const d = await cd(["run", "-d", "--runc-binary", CTR, IMAGE, "t5", "sleep", "100"]);
      expect(d.code).toBe(0);
      try {
        const { code, text } = await throughPty(h, script, [CLIENT!, "--address", join(dir, "containerd.sock"), "--namespace", NS, "tasks", "exec", "-t", "--exec-id", "e2", "t5", "sh"], TTY_PROBE);
        const m = /tty=(\S+) sid=(\d+) self=(\d+)\n/.exec(text);
        expect(m?.[1]).toMatch(/^\/dev\/pts\/\d+$/);
        expect(m?.[2]).toBe(m?.[3]); // a session of its own, the terminal its controlling one
        expect(text).toContain("typed-42\n");
        expect(code).toBe(4);
      } finally {
        await cd(["tasks", "kill", "--signal", "KILL", "t5"]);
        for (let i = 0; i < 200 && !(await cd(["tasks", "ls"])).stdout.includes("STOPPED"); i++) await Bun.sleep(20);
        await cd(["tasks", "delete", "--force", "t5"]);
        await cd(["containers", "delete", "t5"]);
      }
    }),
  );
  ctest("tasks pause and resume (the freezer: tasks ls says PAUSED, then RUNNING); tasks kill KILL of a paused task ends it; nothing left", () =>
    onHostWithDaemon(async () => {
      const before = nsCgroups();
      const d = await cd(["run", "-d", "--runc-binary", CTR, IMAGE, "t3", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done"]);
      expect(d.code).toBe(0);
      const state = async () => / (RUNNING|PAUSED|STOPPED)\b/.exec((await cd(["tasks", "ls"])).stdout.split("\n").find((l) => l.startsWith("t3")) ?? "")?.[1];
      try {
        expect((await cd(["tasks", "pause", "t3"])).code).toBe(0);
        expect(await state()).toBe("PAUSED");
        expect((await cd(["tasks", "resume", "t3"])).code).toBe(0);
        expect(await state()).toBe("RUNNING");
        expect((await cd(["tasks", "pause", "t3"])).code).toBe(0);
        expect((await cd(["tasks", "kill", "--signal", "KILL", "t3"])).code).toBe(0);
        for (let i = 0; i < 200 && (await state()) !== "STOPPED"; i++) await Bun.sleep(20);
        expect(await state()).toBe("STOPPED");
      } finally {
        await cd(["tasks", "delete", "--force", "t3"]);
        await cd(["containers", "delete", "t3"]);
      }
      expect(nsCgroups()).toEqual(before);
      expect(existsSync(SHIM_ROOT) ? readdirSync(SHIM_ROOT) : []).toEqual([]);
    }),
  );
  ctest("the client, containerd's ctr run (attached), killed by SIGKILL mid-run: the task lives on in its shim; tasks kill, tasks delete, containers delete end it; nothing left", () =>
    onHostWithDaemon(async (h) => {
      const before = nsCgroups();
      const p = client(["run", "--runc-binary", CTR, IMAGE, "t6", "sh", "-c", "echo ready; sleep 1000"]);
      h.pids.push(p.pid);
      // Killed once its first line has come through the shim's stdout fifo to the client.
      // The client's own process (/usr/bin/ctr): the shim, started by containerd, is not its child.
      await killClientOnceReady(p);
      try {
        // The task runs on in its shim (with runc as the runtime alike: the same sequence, run by hand, passes the same checks): containerd says RUNNING, PID 1 is there, and ctr's record of it is in the shim's OCI root.
        await Bun.sleep(200);
        expect((await cd(["tasks", "ls"])).stdout).toMatch(/^t6\s+\d+\s+RUNNING$/m);
        const ps = await cd(["tasks", "ps", "t6"]);
        const pid = Number(/^(\d+)\s/m.exec(ps.stdout.split("\n").slice(1).join("\n"))?.[1]);
        expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("sleep");
        expect(readdirSync(SHIM_ROOT)).toEqual(["t6"]);
        expect((await cd(["tasks", "kill", "--signal", "KILL", "t6"])).code).toBe(0);
        for (let i = 0; i < 200 && !(await cd(["tasks", "ls"])).stdout.includes("STOPPED"); i++) await Bun.sleep(20);
        expect((await cd(["tasks", "ls"])).stdout).toMatch(/^t6\s+\d+\s+STOPPED$/m);
        // The client's delete reports the status the shim reaped: the KILL's.
        const del = await cd(["tasks", "delete", "t6"]);
        expect(del.code).toBe(0);
        expect(del.stderr).toContain("task t6 exit with non-zero exit code 137");
      } finally {
        await cd(["tasks", "delete", "--force", "t6"]);
        await cd(["containers", "delete", "t6"]);
      }
      expect((await cd(["containers", "ls", "--quiet"])).stdout).toBe("");
      expect(nsCgroups()).toEqual(before);
      expect(existsSync(SHIM_ROOT) ? readdirSync(SHIM_ROOT) : []).toEqual([]);
    }),
  );
});
