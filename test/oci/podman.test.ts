// podman with ctr as its OCI runtime, for real (as root, issue 18's
// acceptance): `podman --runtime bin/ctr run --rm` (and `run -d`, `exec`,
// `logs`, `stop`, `rm`) of a busybox image
// imported from a rootfs tarball (no network here), with podman's storage,
// run root and events in a temporary directory and the cgroupfs manager, so
// that the system's podman is left alone. podman's monitor, conmon, reads PID
// 1 from --pid-file and reaps it as its child once `create` returns: the
// output, the exit status and the environment come back through it.
//
// After each run: nothing of ctr's on the host (test/integration/host-state.ts:
// mounts, processes, state directories, cgroups), the OCI root ctr used
// (podman names none: /run/ctr-oci) gone, and no cgroup left at podman's
// cgroups path (/libpod_parent/libpod-ID in every hierarchy).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive, CTR, IS_ROOT, itest, onHost, type Host } from "../integration/host-state.ts";
import { throughPty, TTY_PROBE } from "./pty.ts";
import { killClientOnceReady } from "./client.ts";

const PODMAN = Bun.which("podman");
const IMAGE = "localhost/ctr-test-busybox:latest";
let dir = "";

/** podman with its own storage and run root, no network set-up, events in a file, cgroupfs. */
function podmanArgs(): string[] {
  return [PODMAN!, "--root", join(dir, "storage"), "--runroot", join(dir, "run"), "--tmpdir", join(dir, "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
}

async function podman(args: string[], h?: Host): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn({ cmd: [...podmanArgs(), ...args], stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  h?.pids.push(proc.pid);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/**
 * `podman run --rm` through ctr, without podman's network set-up
 * (`--network none`; its default network has a test of its own), and nofile and nproc limits this machine allows (podman asks for
 * 1048576 by default, which runc refuses here as well).
 */
function run(h: Host, args: string[]) {
  return podman(["--runtime", CTR, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ...args], h);
}

/** Mount points in the test's podman storage (podman's own), in mount order. */
function podmanMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => dir !== "" && p.startsWith(`${dir}/`));
}

/** Directories of libpod containers' cgroups (podman's cgroupfs path /libpod_parent/libpod-ID) in any hierarchy. */
function libpodCgroups(): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const parent = join("/sys/fs/cgroup", h, "libpod_parent");
    try {
      for (const n of readdirSync(parent)) if (n.startsWith("libpod-")) out.push(join(parent, n));
    } catch {
      // no libpod_parent in this hierarchy
    }
  }
  return out;
}

beforeAll(async () => {
  if (!IS_ROOT || !PODMAN) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-podman-"));
  const rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  const tar = join(dir, "bb.tar");
  const t = Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."], { stderr: "pipe" });
  if (t.exitCode !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
  const imp = await podman(["import", tar, IMAGE]);
  if (imp.code !== 0) throw new Error(`podman import: ${imp.stderr}`);
  // The first container makes the overlay driver's private bind of its own directory (podman's, not ctr's): before any test's snapshot.
  const made = await podman(["create", "--name", "ctr-warm-up", IMAGE, "true"]);
  if (made.code !== 0) throw new Error(`podman create: ${made.stderr}`);
  await podman(["rm", "--force", "ctr-warm-up"]);
}, 120_000);

afterAll(async () => {
  if (!dir) return;
  // podman's own storage, the image's layer with it (not `system reset`, which also touches the system's network configs).
  await podman(["rmi", "--all", "--force"]);
  // The driver's bind of its directory, made in our temporary storage: undone with it.
  Bun.spawnSync(["umount", join(dir, "storage", "overlay")], { stderr: "ignore" });
  rmSync(dir, { recursive: true, force: true });
});

/**
 * onHost for a podman test. Two mounts are podman's own, not ctr's:
 *   - the overlay driver's private bind of its own directory (in the test's
 *     storage): its `container cleanup`, started by conmon after a container
 *     ends, may undo it after a test, and the next command that uses the
 *     storage makes it again. It is undone in afterAll.
 *   - /run/netns bound on itself, made shared: podman does it when it makes
 *     its first network namespace there (a machine where `ip netns add` ran
 *     has it already) and never undoes it. It is made in the test process's
 *     own mount namespace (host-state.ts), which ends with the tests.
 * Every other mount is compared as usual.
 */
function onPodmanHost(fn: (h: Host) => Promise<void>): Promise<void> {
  return onHost(async (h) => {
    const bind = ` ${join(dir, "storage", "overlay")} ${join(dir, "storage", "overlay")} `;
    h.ignoreMount = (finding) => finding.includes(bind) || / \/run\/netns \/run\/netns .* - /.test(finding);
    await fn(h);
  });
}

/** `test` that says why it is skipped when podman is not there. */
function ptest(name: string, fn: () => Promise<void>, timeout = 60_000): void {
  if (IS_ROOT && !PODMAN) {
    test(name, () => console.log(`skip: ${name}: podman is not installed (apt-get install podman); CI installs it`));
    return;
  }
  itest(name, fn, timeout);
}

describe("podman --runtime ctr", () => {
  ptest("run --rm: the output, the hostname podman gives, the exit status, the environment; nothing left", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      const ok = await run(h, ["--hostname", "box1", IMAGE, "sh", "-c", "echo ok; hostname"]);
      expect([ok.code, ok.stdout, ok.stderr]).toEqual([0, "ok\nbox1\n", ""]);
      const status = await run(h, [IMAGE, "sh", "-c", "exit 7"]);
      expect(status.code).toBe(7);
      const env = await run(h, ["-e", "GREETING=hello there", "-w", "/tmp", IMAGE, "sh", "-c", 'echo "$GREETING from $(pwd) as $(id -u)"; echo err >&2; exit 0']);
      expect([env.code, env.stdout, env.stderr]).toEqual([0, "hello there from /tmp as 0\n", "err\n"]);
      expect(libpodCgroups()).toEqual(cgroupsBefore);
      expect(existsSync("/run/ctr-oci")).toBe(false);
    }),
  );

  ptest("podman's default network: its network namespace joined by path, its eth0 and podman's sysctl in it", () =>
    onPodmanHost(async (h) => {
      const r = await podman(["--runtime", CTR, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "sh", "-c", "ls /sys/class/net; cat /proc/sys/net/ipv4/ping_group_range"], h);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      // eth0: podman's veth in the namespace it made and handed over by path; the sysctl is that namespace's, not the host's.
      expect(r.stdout).toMatch(/^eth0\nlo\n0\t0\n$/);
      expect(readFileSync("/proc/sys/net/ipv4/ping_group_range", "utf8")).not.toBe("0\t0\n");
    }),
  );

  ptest("run -it through a pty (script): the command on a terminal of the container's, what is typed reaches it, its status comes back", () =>
    onPodmanHost(async (h) => {
      const script = Bun.which("script");
      if (!script) {
        console.log("skip: run -it: script(1) is not installed (apt-get install bsdutils)");
        return;
      }
      const { code, text } = await throughPty(h, script, [...podmanArgs(), "--runtime", CTR, "run", "-it", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "sh"], "tty; echo typed-$((6*7))\nexit 4\n");
      expect(text).toContain("/dev/pts/0\n");
      expect(text).toContain("typed-42\n");
      expect(code).toBe(4);
    }),
  );

  ptest("exec -it through a pty (script): conmon gets the master on its console socket, the command is on a terminal of the container's, what is typed reaches it, its status comes back", () =>
    onPodmanHost(async (h) => {
      const script = Bun.which("script");
      if (!script) {
        console.log("skip: exec -it: script(1) is not installed (apt-get install bsdutils)");
        return;
      }
      const d = await podman(["--runtime", CTR, "run", "-d", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "sleep", "1000"], h);
      expect([d.code, d.stderr]).toEqual([0, ""]);
      const id = d.stdout.trim();
      try {
        // The shell's terminal, and a session of its own (its controlling terminal's).
        const { code, text } = await throughPty(h, script, [...podmanArgs(), "--runtime", CTR, "exec", "-it", id, "sh"], TTY_PROBE);
        const m = /tty=(\S+) sid=(\d+) self=(\d+)\n/.exec(text);
        expect(m?.[1]).toMatch(/^\/dev\/pts\/\d+$/);
        expect(m?.[2]).toBe(m?.[3]);
        expect(text).toContain("typed-42\n");
        expect(code).toBe(4);
      } finally {
        // -t 0: `sleep` as PID 1 ignores TERM, so no waiting for it.
        expect((await podman(["--runtime", CTR, "rm", "--force", "-t", "0", id], h)).code).toBe(0);
      }
      expect(existsSync("/run/ctr-oci")).toBe(false);
    }),
  );

  ptest("run -d, then exec (its status, -e, -w), logs, stop (the command's TERM handler), rm; nothing left", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      const flags = ["--runtime", CTR, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
      const d = await podman(["run", "-d", ...flags, IMAGE, "sh", "-c", 'trap "echo got TERM; exit 3" TERM; echo started; while true; do sleep 0.1; done'], h);
      expect(d.code).toBe(0);
      const id = d.stdout.trim();
      try {
        const ex = await podman(["--runtime", CTR, "exec", id, "sh", "-c", "echo in $(hostname); exit 9"], h);
        expect([ex.code, ex.stdout]).toEqual([9, `in ${id.slice(0, 12)}\n`]);
        const env = await podman(["--runtime", CTR, "exec", "-e", "A=b", "-w", "/tmp", id, "sh", "-c", "echo $A $(pwd) $(id -u)"], h);
        expect([env.code, env.stdout]).toEqual([0, "b /tmp 0\n"]);
        const stop = await podman(["--runtime", CTR, "stop", "-t", "10", id], h);
        expect(stop.code).toBe(0);
        expect((await podman(["logs", id], h)).stdout).toBe("started\ngot TERM\n");
        expect((await podman(["inspect", "--format", "{{.State.ExitCode}}", id], h)).stdout.trim()).toBe("3");
      } finally {
        expect((await podman(["--runtime", CTR, "rm", "--force", id], h)).code).toBe(0);
      }
      expect(libpodCgroups()).toEqual(cgroupsBefore);
      expect(existsSync("/run/ctr-oci")).toBe(false);
    }),
  );

  ptest("pause and unpause: the container's counter stops and goes on, podman sees it paused; podman update's limits in its cgroups; rm --force of a paused container; nothing left", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      const flags = ["--runtime", CTR, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
      const d = await podman(["run", "-d", ...flags, IMAGE, "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done"], h);
      expect([d.code, d.stderr]).toEqual([0, ""]);
      const id = d.stdout.trim();
      try {
        const pid = Number((await podman(["inspect", "--format", "{{.State.Pid}}", id], h)).stdout.trim());
        const count = () => Number(readFileSync(`/proc/${pid}/root/tmp/n`, "utf8").trim() || "0");
        const end = Date.now() + 10_000;
        while (!(existsSync(`/proc/${pid}/root/tmp/n`) && count() > 2) && Date.now() < end) await Bun.sleep(20);
        const p = await podman(["--runtime", CTR, "pause", id], h);
        expect([p.code, p.stderr]).toEqual([0, ""]);
        expect((await podman(["inspect", "--format", "{{.State.Status}}", id], h)).stdout.trim()).toBe("paused");
        const at = count();
        await Bun.sleep(400);
        expect(count()).toBe(at);
        const u = await podman(["--runtime", CTR, "unpause", id], h);
        expect([u.code, u.stderr]).toEqual([0, ""]);
        expect((await podman(["inspect", "--format", "{{.State.Status}}", id], h)).stdout.trim()).toBe("running");
        const end2 = Date.now() + 5_000;
        while (count() <= at + 2 && Date.now() < end2) await Bun.sleep(20);
        expect(count()).toBeGreaterThan(at + 2);
        // podman update: the resources file podman writes (`update --resources`), seen in the container's own cgroups.
        const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
        const up = await podman(["--runtime", CTR, "update", "--memory", "96m", "--cpu-shares", "512", id], h);
        expect([up.code, up.stderr]).toEqual([0, ""]);
        const files = v2 ? ["/sys/fs/cgroup/memory.max"] : ["/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.shares"];
        const seen = await podman(["--runtime", CTR, "exec", id, "cat", ...files], h);
        expect(seen.stdout.trim().split("\n")).toEqual(v2 ? [String(96 << 20)] : [String(96 << 20), "512"]);
        expect((await podman(["--runtime", CTR, "pause", id], h)).code).toBe(0);
      } finally {
        const rm = await podman(["--runtime", CTR, "rm", "--force", id], h);
        expect([rm.code, rm.stderr]).toEqual([0, ""]);
      }
      expect(libpodCgroups()).toEqual(cgroupsBefore);
      expect(existsSync("/run/ctr-oci")).toBe(false);
    }),
  );

  ptest("--device and --device-read-bps: linux.devices made and allowed, blockIO's throttle in the container's blkio or io cgroup", () =>
    onPodmanHost(async (h) => {
      // A whole disk of this machine (before a loop device), by name and MAJOR:MINOR.
      const disk = readdirSync("/sys/block").sort((a, b) => Number(a.startsWith("loop")) - Number(b.startsWith("loop")))[0]!;
      const dev = readFileSync(`/sys/block/${disk}/dev`, "utf8").trim();
      const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
      const throttle = v2 ? `grep '^${dev} ' /sys/fs/cgroup/io.max` : "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device";
      const probe = ["stat -c '%F %t:%T' /dev/fuse", "true < /dev/fuse && echo fuse=open", throttle].join("; ");
      const r = await run(h, ["--device", "/dev/fuse", "--device-read-bps", `/dev/${disk}:1mb`, IMAGE, "sh", "-c", probe]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(r.stdout).toBe(`character special file a:e5\nfuse=open\n${v2 ? `${dev} rbps=1048576 wbps=max riops=max wiops=max` : `${dev} 1048576`}\n`);
    }),
  );
  ptest("the container's cgroups are at podman's cgroupsPath in every hierarchy, with its limits, and mounted read-only at /sys/fs/cgroup", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      // A pure v2 host: podman gives the container a cgroup namespace (its cgroupns=private default there), and the mount is a new cgroup2 of its root.
      const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
      const pids = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids";
      const memory = v2 ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
      const probe = ["cat /proc/self/cgroup", `cat ${pids}/pids.max`, `cat ${memory}`, `ls ${pids}/cgroup.procs`, "touch /sys/fs/cgroup/x 2>/dev/null && echo top=rw || echo top=ro", `mkdir ${pids}/y 2>/dev/null && echo pids=rw || echo pids=ro`].join("; ");
      const r = await run(h, ["--pids-limit", "99", "--memory", "64m", IMAGE, "sh", "-c", probe]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const lines = r.stdout.trim().split("\n");
      const cgroup = lines.filter((l) => /^\d+:/.test(l));
      expect(cgroup.length).toBeGreaterThan(0);
      // Every hierarchy's line names podman's path for this container (in a cgroup namespace: its root).
      for (const l of cgroup) expect(l).toMatch(v2 ? /^0::\/$/ : /^\d+:[^:]*:\/libpod_parent\/libpod-[0-9a-f]{64}$/);
      // The container's own cgroups are the roots of what /sys/fs/cgroup shows in there, with podman's limits.
      expect(lines).toContain("99");
      expect(lines).toContain(String(64 * 1024 * 1024));
      expect(lines).toContain(`${pids}/cgroup.procs`);
      expect(lines).toContain("top=ro");
      expect(lines).toContain("pids=ro");
      expect(libpodCgroups()).toEqual(cgroupsBefore);
    }),
  );

  ptest("podman run (attached) killed by SIGKILL mid-run: the container runs on under conmon (with runc alike); podman rm --force ends and deletes it; nothing left", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      const name = "ctr-kill9";
      const cmd = [...podmanArgs(), "--runtime", CTR, "run", "--name", name, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "sh", "-c", "echo ready; sleep 1000"];
      const p = Bun.spawn({ cmd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      h.pids.push(p.pid);
      // Killed once its first line has come through conmon's attach socket to podman.
      // podman's own process, the client: conmon, started by it and double-forked, is not its child.
      await killClientOnceReady(p);
      const inspect = async (f: string) => (await podman(["inspect", "--format", f, name], h)).stdout.trim();
      const conmon = Number(await inspect("{{.State.ConmonPid}}"));
      const pid1 = Number(await inspect("{{.State.Pid}}"));
      // The container runs on, monitored by conmon: podman's death is not its end. The same sequence with runc as the runtime
      // (run by hand, --runtime /usr/sbin/runc) behaves alike at every step: running, conmon and PID 1 there, rm --force clean.
      await Bun.sleep(200);
      expect(await inspect("{{.State.Status}}")).toBe("running");
      expect(readFileSync(`/proc/${conmon}/comm`, "utf8").trim()).toBe("conmon");
      expect(readFileSync(`/proc/${pid1}/comm`, "utf8").trim()).toBe("sleep");
      // ctr's record of it, which the end below must remove.
      expect(existsSync(`/run/ctr-oci/${await inspect("{{.Id}}")}/state.json`)).toBe(true);
      // -t 0: `sleep` (sh's last command, exec'd as PID 1) ignores TERM. podman kills it through the runtime, conmon sees it end, and podman's cleanup calls delete.
      const rm = await podman(["--runtime", CTR, "rm", "--force", "-t", "0", name], h);
      expect([rm.code, rm.stderr]).toEqual([0, ""]);
      // conmon (and its `podman container cleanup`) end with the container: re-parented to this test (the subreaper), conmon stays a
      // zombie until onHost's check reaps it, hence alive() rather than /proc/PID.
      for (let i = 0; i < 250 && alive(conmon); i++) await Bun.sleep(20);
      expect(alive(conmon)).toBe(false);
      expect(alive(pid1)).toBe(false);
      expect(libpodCgroups()).toEqual(cgroupsBefore);
      expect(existsSync("/run/ctr-oci")).toBe(false);
      expect((await podman(["ps", "--all", "--quiet", "--filter", `name=${name}`], h)).stdout).toBe("");
    }),
  );

  ptest("conmon killed by SIGKILL mid-run: the container runs on unmonitored; podman rm then calls no delete (with runc alike), and ctr delete removes everything from the record", () =>
    onPodmanHost(async (h) => {
      const cgroupsBefore = libpodCgroups();
      const d = await podman(["run", "-d", "--runtime", CTR, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "sleep", "100"], h);
      expect(d.code).toBe(0);
      const id = d.stdout.trim();
      const conmon = Number((await podman(["inspect", "--format", "{{.State.ConmonPid}}", id], h)).stdout.trim());
      const pid1 = Number((await podman(["inspect", "--format", "{{.State.Pid}}", id], h)).stdout.trim());
      expect(conmon).toBeGreaterThan(0);
      process.kill(conmon, "SIGKILL");
      // PID 1 outlives its monitor, as under runc (re-parented to this test, the subreaper above conmon).
      await Bun.sleep(200);
      expect(readFileSync(`/proc/${pid1}/comm`, "utf8").trim()).toBe("sleep");
      // podman kills it (KILL after the stop timeout) and forgets it, without a `delete`: ctr's record and cgroups are still there.
      await podman(["--runtime", CTR, "rm", "--force", "--time", "0", id], h);
      expect(existsSync(`/run/ctr-oci/${id}/state.json`)).toBe(true);
      const del = await h.ctr(["delete", "--force", id]);
      expect([del.code, del.stderr]).toEqual([0, ""]);
      expect(libpodCgroups()).toEqual(cgroupsBefore);
      expect(existsSync("/run/ctr-oci")).toBe(false);
      // podman's own mounts of the container (its rootfs, its /dev/shm, its storage's bind), which its rm leaves once conmon is gone: in the
      // test's storage, undone here. Last in the file: podman's storage is not the same for a test after it.
      for (const point of podmanMounts().reverse()) Bun.spawnSync(["umount", point]);
    }),
  );
});
