// `readonly` and `mask` seen from inside (runtime/features/mount/protect.ts): a write under a
// read-only path fails with EROFS, a masked file reads empty, a masked directory is empty
// and read-only; both written before `mount proc`/`mount sysfs` still apply to them.

import { describe, expect } from "bun:test";
import { itest, onHost } from "./host-state.ts";

describe("readonly and mask", () => {
  itest("readonly / and /proc/sys: EROFS on write; /tmp and /dev stay writable; before the mounts in the script, they still apply", () =>
    onHost(async (h) => {
      const script = `ns mnt, pid, uts
readonly /
readonly /proc/sys
rootfs default
mount proc
mount tmpfs /tmp
mount dev
run sh -c 'touch /x 2>&1; (echo 1 > /proc/sys/kernel/hostname) 2>&1; touch /tmp/ok && echo tmp; echo > /dev/null && echo dev'
expect output contains "touch: cannot touch '/x': Read-only file system"
expect output contains "/proc/sys/kernel/hostname: Read-only file system"
expect output contains "tmp"
expect output contains "dev"
run sh -c 'grep " / / " /proc/self/mountinfo | while read a b c d e opts rest; do echo "\${opts%%,*}"; done'
expect output == ro`;
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }),
  );

  itest("mask: a file reads empty (the host's /dev/null), a directory is an empty read-only tmpfs, a missing path is skipped", () =>
    onHost(async (h) => {
      const script = `ns mnt, pid
mask /proc/timer_list
mask /sys/firmware
mask /no/such/path
rootfs default
mount proc
mount sysfs
run sh -c 'echo "[$(cat /proc/timer_list)] $(ls -A /sys/firmware | wc -l)"; touch /sys/firmware/x 2>&1; ls /no 2>&1 | head -1'
expect output contains "[] 0"
expect output contains "/sys/firmware/x': Read-only file system"
expect output contains "No such file"`;
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // The same file without the mask is not empty: the test above can fail.
      const plain = await h.ctr(["-e", "ns mnt, pid\nrootfs default\nmount proc\nrun sh -c 'wc -c < /proc/timer_list'"]);
      expect(Number(plain.stdout.trim())).toBeGreaterThan(0);
    }),
  );
});
