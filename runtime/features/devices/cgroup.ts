// The device policy in the container's cgroup: v1 file writes, or on v2 the program of
// runtime/features/devices/bpf.ts loaded and attached to the container's cgroup. Called by
// runtime/features/cgroup/manager.ts like the other controllers' files.

import { AT_FDCWD, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, O_CLOEXEC, O_DIRECTORY } from "../../../native/constants.ts";
import type { Sys } from "../../../native/seam.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "../cgroup/types.ts";
import { deviceProgram, encodeProgram } from "./bpf.ts";
import { devicesV1Writes, type DeviceRule } from "./policy.ts";

/** v1: the devices files; v2: none (the program is attached instead). */
export function devicesWrites(limit: Extract<CgroupLimit, { controller: "devices" }>, version: CgroupVersion): CgroupWrite[] {
  return version === "v1" ? devicesV1Writes(limit.allowed).map((w) => ({ controller: "devices", ...w })) : [];
}

/**
 * v2: load the policy's program and attach it to the cgroup `dir`. BPF_F_ALLOW_MULTI: the
 * programs of the cgroups above (systemd's, say) still run, and each must allow. The
 * cgroup keeps the program; both descriptors are closed.
 */
export function attachDeviceProgram(sys: Sys, dir: string, allowed: readonly DeviceRule[]): void {
  const prog = sys.bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, encodeProgram(deviceProgram(allowed)), "MIT");
  try {
    const cg = sys.openat2(AT_FDCWD, dir, O_DIRECTORY | O_CLOEXEC, 0);
    try {
      sys.bpfProgAttach(cg, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    } finally {
      sys.close(cg);
    }
  } finally {
    sys.close(prog);
  }
}
