// The device policy seen from inside (runtime/features/devices/): with `device default` a node
// made for a block device of the host (loop0) cannot be opened (EPERM), as under runc, while /dev/null can; without
// it the same node opens. The v2 program is run for real on the machine's cgroup2 tree when
// one is mounted (on a hybrid machine too: the kernel runs a device program of the task's v2
// cgroup whatever v1 does).

import { describe, expect } from "bun:test";
import { mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { itest, onHost } from "./host-state.ts";
import { machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { attachDeviceProgram } from "../../runtime/features/devices/cgroup.ts";
import { DEFAULT_DEVICES } from "../../runtime/features/devices/policy.ts";
import { realSys } from "../../native/seam.ts";

/**
 * A block device of the host that the host itself may open: loop0 (b 7:0). The host's own
 * disk would be better, but on a machine whose own policy already refuses it (a sandbox),
 * the control below (it opens without a policy) could not pass.
 */
function hostBlockDevice(): string | null {
  try {
    return readFileSync("/sys/block/loop0/dev", "utf8").trim().replace(":", " ");
  } catch {
    return null;
  }
}

const disk = hostBlockDevice();
if (!disk) console.log("skip: no /sys/block/loop0 to make a node for");

function script(policy: string): string {
  // mount dev's tmpfs allows device nodes (a plain tmpfs is nodev, which would hide the policy).
  return `ns mnt, pid
${policy}
mount dev /tmp/ctrtest-dev
run sh -c 'mknod /tmp/ctrtest-dev/disk b ${disk} && echo made; head -c1 /tmp/ctrtest-dev/disk > /dev/null 2>&1 && echo opened || echo refused; head -c1 /dev/zero | wc -c'`;
}

describe("device policy", () => {
  itest("device default: mknod of a host block device (loop0) works, opening it does not; /dev/zero opens; without a policy it opens", () =>
    onHost(async (h) => {
      if (!disk) return;
      const on = await h.ctr(["-e", script("device default")]);
      expect(on.stderr).toBe("");
      expect(on.stdout).toBe("made\nrefused\n1\n");
      const off = await h.ctr(["-e", script("")]);
      expect(off.stdout).toBe("made\nopened\n1\n");
    }),
  );

  itest("device deny a: nothing opens, mknod fails; device allow b (that device) after default: it opens", () =>
    onHost(async (h) => {
      if (!disk) return;
      const none = await h.ctr(["-e", `ns mnt, pid\ndevice deny a\nrun sh -c 'head -c1 /dev/zero > /dev/null 2>&1 && echo opened || echo refused'`]);
      expect(none.stdout).toBe("refused\n");
      const [maj, min] = disk.split(" ");
      const some = await h.ctr(["-e", script(`device allow b ${maj}:${min} r`)]);
      expect(some.stdout).toBe("made\nopened\n1\n");
    }),
  );

  itest("the v2 program (bpf, attached to a cgroup of the machine's cgroup2 tree): the block device node is refused, /dev/zero is not", async () => {
    const v2 = machineCgroups().v2;
    if (!v2 || !disk) {
      console.log("skip: no cgroup2 tree mounted, or no disk");
      return;
    }
    const dir = `${v2.mount}/ctrtest-devices-${process.pid}`;
    mkdirSync(dir);
    try {
      attachDeviceProgram(realSys, dir, DEFAULT_DEVICES);
      const node = `/dev/shm/ctrtest-disk-${process.pid}`;
      const p = Bun.spawnSync(["sh", "-c", `echo $$ > ${dir}/cgroup.procs; mknod ${node} b ${disk} && echo made; head -c1 ${node} > /dev/null 2>&1 && echo opened || echo refused; rm -f ${node}; head -c1 /dev/zero | wc -c`]);
      expect(p.stdout.toString()).toBe("made\nrefused\n1\n");
    } finally {
      rmdirSync(dir);
    }
  });
});
