// The block I/O controller: `limit io` (an OCI config's linux.resources.blockIO).
//
// Kernel concepts: v1 names the controller blkio, v2 io. Two kinds of control:
//   - a relative weight, honoured by the I/O scheduler: on v1 blkio.weight (CFQ,
//     gone from Linux 5.0) or blkio.bfq.weight (BFQ with group scheduling), 10..1000
//     (BFQ 1..1000); on v2 io.weight (1..10000; "default N" or "MAJ:MIN N") or
//     io.bfq.weight (the v1 scale). Which file exists depends on the kernel's build
//     and schedulers: it is found at run time, and where there is none the limit is
//     refused, naming what is missing, as runc fails. The weight is given on the v1
//     scale (as the OCI spec does) and converted for io.weight as runc converts it.
//   - throttles, per device: on v1 blkio.throttle.{read,write}_{bps,iops}_device
//     ("MAJ:MIN N", one rule per write), on v2 io.max ("MAJ:MIN rbps=N wbps=N
//     riops=N wiops=N"). The kernel refuses a device that is not a whole block
//     device of this machine (ENODEV, or EINVAL for a partition).
// Every file is absent on a machine without the controller: the manager says so
// before anything is made (runtime/features/cgroup/manager.ts, check).

import { SysError } from "../../../native/error.ts";
import type { CgroupFs } from "./fs.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "./types.ts";

export type IoLimit = Extract<CgroupLimit, { controller: "io" }>;

/** The weight's range, on the v1 scale the OCI spec uses. */
export const IO_WEIGHT_MIN = 10;
export const IO_WEIGHT_MAX = 1000;

/** A v1 weight (10..1000) on io.weight's scale (1..10000), as runc converts it (cgroups.ConvertBlkIOToIOWeightValue). */
export function ioWeightV2(w: number): number {
  return Math.floor(1 + ((w - 10) * 9999) / 990);
}

/** The weight files of each version, the scheduler's own last. */
const WEIGHT_FILES: Record<CgroupVersion, [plain: string, bfq: string]> = { v1: ["blkio.weight", "blkio.bfq.weight"], v2: ["io.weight", "io.bfq.weight"] };

/**
 * Which weight file `dir` has (`device`: its per-device form), or a SysError saying
 * that the host has none. `dir` null: not known yet (v2 before io is enabled), the first.
 */
export function weightFile(fs: CgroupFs, version: CgroupVersion, dir: string | null, device: boolean): string {
  const [plain, bfq] = WEIGHT_FILES[version];
  const suffix = device && version === "v1" ? "_device" : "";
  if (dir === null) return plain + suffix;
  for (const f of [plain, bfq]) if (fs.exists(`${dir}/${f}${suffix}`)) return f + suffix;
  throw new SysError({
    status: 125,
    message: `limit io weight=: this host's ${version === "v1" ? "blkio" : "io"} controller has no weight file (neither ${plain}${suffix} nor ${bfq}${suffix} in ${dir}): the I/O scheduler in use gives no group weights`,
    hint: version === "v1" ? "a weight needs CFQ (Linux before 5.0) or BFQ with group scheduling (CONFIG_BFQ_GROUP_IOSCHED); remove weight= (the throttles rbps=, wbps=, riops=, wiops= need no scheduler)" : "a weight needs the io cost model or BFQ (io.bfq.weight); remove weight=",
  });
}

export function checkIo(limit: IoLimit): void {
  const throttles = [limit.rbps, limit.wbps, limit.riops, limit.wiops].some((v) => v !== null);
  if (throttles && !limit.device) throw new SysError({ status: 125, message: "limit io: rbps=, wbps=, riops= and wiops= are per device", hint: "give the device's MAJOR:MINOR: limit io 8:0 rbps=1m" });
  if (limit.weight !== null && (limit.weight < IO_WEIGHT_MIN || limit.weight > IO_WEIGHT_MAX)) throw new SysError({ status: 125, message: `limit io weight=${limit.weight}: out of range`, hint: `a block I/O weight goes from ${IO_WEIGHT_MIN} to ${IO_WEIGHT_MAX} (the OCI spec's and blkio's scale)` });
}

/** The writes of one `limit io`; `weight`: the weight file found for it (weightFile). */
export function ioWrites(limit: IoLimit, version: CgroupVersion, weight: string | null): CgroupWrite[] {
  const dev = limit.device ? `${limit.device.major}:${limit.device.minor}` : null;
  const out: CgroupWrite[] = [];
  if (limit.weight !== null && weight) {
    const bfq = weight.includes(".bfq.");
    const w = version === "v2" && !bfq ? ioWeightV2(limit.weight) : limit.weight;
    out.push({ controller: "io", file: weight, value: dev ? `${dev} ${w}` : version === "v2" ? `default ${w}` : String(w), note: "the scheduler's share of the disk, relative to the other cgroups" });
  }
  if (!dev) return out;
  const rates: [keyof IoLimit, string, string][] = [
    ["rbps", "read_bps_device", "rbps"],
    ["wbps", "write_bps_device", "wbps"],
    ["riops", "read_iops_device", "riops"],
    ["wiops", "write_iops_device", "wiops"],
  ];
  const given = rates.filter(([k]) => limit[k] !== null);
  if (given.length === 0) return out;
  const note = "reads and writes beyond it wait";
  if (version === "v2") out.push({ controller: "io", file: "io.max", value: `${dev} ${given.map(([k, , key]) => `${key}=${limit[k]}`).join(" ")}`, note });
  else for (const [k, file] of given) out.push({ controller: "io", file: `blkio.throttle.${file}`, value: `${dev} ${limit[k]}`, note });
  return out;
}
