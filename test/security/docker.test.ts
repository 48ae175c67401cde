// `docker_security` (stdlib/docker.ctr) seen from inside: its masked and read-only paths
// apply to the /proc and /sys the script mounts whether it comes before or after
// `docker_fs`'s `mount proc` and `mount sysfs` (mask and readonly wait for the mounts made
// before the next command); a path missing on this kernel does not stop the container; the
// device policy refuses a node made for a block device of the host; without `ns mnt` one
// error, not one per statement.

import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT, itest, onHost } from "../integration/host-state.ts";

// A busybox tree (its sh, awk, tr and mknod), as the escape suite's.
let dir = "";
let tree = "";
beforeAll(() => {
  if (!IS_ROOT) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-docker-security-"));
  tree = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", tree], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr}`);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// What a process inside reads: CapEff, NoNewPrivs, Seccomp; a masked file's and directory's
// size; the mount options of the protected paths; a write under /proc/sys and /sys.
const PROBE = [
  'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " "',
  'echo "timer_list=$(wc -c < /proc/timer_list) firmware=$(ls -A /sys/firmware | wc -l)"',
  'for p in /proc/sys /proc/bus /proc/fs /proc/irq /sys /sys/firmware /proc/timer_list /proc/keys; do awk -v p=$p "\\$5 == p { split(\\$6, o, \\",\\"); m = o[1] } END { print p \\"=\\" m }" /proc/self/mountinfo; done',
  "(echo 1 > /proc/sys/kernel/panic) 2>&1",
  "(echo x > /sys/kernel/uevent_helper) 2>&1",
  "true",
].join("; ");

const EXPECTED = [
  "CapEff: 00000000a80425fb",
  "NoNewPrivs: 1",
  "Seccomp: 2",
  "timer_list=0 firmware=0",
  "/proc/sys=ro",
  "/proc/bus=ro",
  "/proc/fs=ro",
  "/proc/irq=ro",
  "/sys=ro",
  "/sys/firmware=ro",
  "/proc/timer_list=rw", // the host's /dev/null, as runc binds it: writes vanish
  "/proc/keys=rw",
  "sh: can't create /proc/sys/kernel/panic: Read-only file system",
  "sh: can't create /sys/kernel/uevent_helper: Read-only file system",
];

describe("docker_security", () => {
  for (const order of ["before", "after"] as const) {
    itest(`${order} docker_fs: the masked and read-only paths of /proc and /sys, the 14 capabilities, no_new_privs, the profile`, () =>
      onHost(async (h) => {
        const lines = order === "before" ? ["docker_security", `docker_fs ${tree}`] : [`docker_fs ${tree}`, "docker_security"];
        const r = await h.ctr(["-e", ['import "std/docker"', "ns uts, pid, mnt, ipc", ...lines, `exec sh -c '${PROBE.replace(/'/g, "'\\''")}'`].join("\n")]);
        expect(r.stderr).toBe("");
        expect(r.stdout.trim().split("\n")).toEqual(EXPECTED);
        expect(r.code).toBe(0);
      }),
    );
  }

  itest("paths missing on this kernel are skipped (the container starts); the same paths exist on the host or not", () =>
    onHost(async (h) => {
      const paths = ["/proc/asound", "/proc/kcore", "/proc/sched_debug", "/proc/sysrq-trigger", "/sys/devices/virtual/powercap"];
      const onHostNow = paths.map((p) => `${p}=${exists(p)}`);
      const r = await h.ctr(["-e", `import "std/docker"\nns pid, mnt\ndocker_security\ndocker_fs ${tree}\nexec sh -c 'for p in ${paths.join(" ")}; do [ -e $p ] && echo $p=yes || echo $p=no; done'`]);
      expect(r.stderr).toBe("");
      // A path the host has is masked (so present); one it lacks stays missing inside.
      expect(r.stdout.trim().split("\n")).toEqual(onHostNow);
    }),
  );

  // loop0, not the root's disk: on a machine that is itself a sandbox the host may not open
  // its own disk, and the control below (the node opens without docker_security) could not pass.
  itest("the device policy: a node made for a block device of the host (loop0) cannot be opened; /dev/null can; without docker_security it opens", () =>
    onHost(async (h) => {
      if (!existsSync("/sys/block/loop0/dev")) {
        console.log("skip: no /sys/block/loop0 to make a node for");
        return;
      }
      const [maj, min] = readFileSync("/sys/block/loop0/dev", "utf8").trim().split(":");
      const probe = `exec sh -c 'mknod /dev/hostdisk b ${maj} ${min} && echo made; head -c1 /dev/hostdisk > /dev/null 2>&1 && echo opened || echo refused; echo > /dev/null && echo null'`;
      const on = await h.ctr(["-e", `import "std/docker"\nns pid, mnt\ndocker_security\ndocker_fs ${tree}\n${probe}`]);
      expect(on.stdout).toBe("made\nrefused\nnull\n");
      const off = await h.ctr(["-e", `import "std/docker"\nns pid, mnt\ndocker_fs ${tree}\n${probe}`]);
      expect(off.stdout).toBe("made\nopened\nnull\n");
    }),
  );

  itest("without ns mnt: one error for the call, naming the fix", () =>
    onHost(async (h) => {
      const r = await h.ctr(["check", "-e", 'import "std/docker"\nns pid\ndocker_security\nexec true']);
      expect(r.stderr.match(/error:/g)).toHaveLength(1);
      expect(r.stderr).toContain("`mask` needs `ns mnt`");
      expect(r.stderr).toContain("add `mnt` to the `ns` statement: ns pid, mnt");
      expect(r.code).not.toBe(0);
    }),
  );
});

function exists(p: string): "yes" | "no" {
  return existsSync(p) ? "yes" : "no";
}
