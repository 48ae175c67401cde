// The shapes shared by the cgroup files: limits as plans carry them, the
// hierarchies found on the machine, and single file writes.
//
// A cgroup ("control group") is a directory in a cgroup filesystem; the
// processes listed in its `cgroup.procs` are held to the limits written in its
// other files. cgroup v1 has one hierarchy (one mount) per controller or group
// of controllers (cpu, cpuacct, memory, pids, cpuset...), so a process belongs
// to one cgroup per hierarchy. cgroup v2 has a single hierarchy where each
// directory enables controllers for its children. "Hybrid" machines mount both:
// the controllers live in v1, the v2 tree only tracks processes.

import type { DeviceRule } from "../devices/policy.ts";

/** What `limit` statements ask for, in plain numbers (JSON: it travels in plans). */
export type CgroupLimit =
  | {
      controller: "cpu";
      /** Percent of one CPU (150 = one and a half CPUs); null: no quota. */
      percent: number | null;
      /** Scheduling period in microseconds (default 100000). */
      periodUs: number | null;
      /** Relative weight, v2 style (1..10000, default 100). */
      weight: number | null;
      /** Relative weight, v1 style (2..262144, default 1024). */
      shares: number | null;
    }
  | {
      controller: "memory";
      bytes: number;
      /** Swap the container may use besides `bytes`; default 0 (killed at the limit). */
      swapBytes: number | null;
    }
  | { controller: "pids"; max: number }
  /** Block I/O (runtime/features/cgroup/io.ts): a weight on the v1 scale (10..1000), and per `device` its weight and throttles (bytes, operations per second). */
  | { controller: "io"; device: { major: number; minor: number } | null; weight: number | null; rbps: number | null; wbps: number | null; riops: number | null; wiops: number | null }
  /** The device policy (runtime/features/devices/policy.ts): the accesses allowed, everything else denied. */
  | { controller: "devices"; allowed: DeviceRule[] }
  | {
      controller: "cpuset";
      /** CPU list as the kernel writes it: "0-1,3". */
      cpus: string;
      /** Memory nodes; null: those of ctr's own cpuset. */
      mems: string | null;
    };

export type LimitController = CgroupLimit["controller"];

/** Kernel controller names ctr uses (v1 hierarchies are named by them; "io" is v1's blkio, by its v2 name). */
export type KernelController = "cpu" | "cpuacct" | "memory" | "pids" | "cpuset" | "devices" | "io";

export const KERNEL_CONTROLLERS: readonly KernelController[] = ["cpu", "cpuacct", "memory", "pids", "cpuset", "devices", "io"];

export type CgroupVersion = "v1" | "v2";

/** One mounted cgroup hierarchy and where ctr's own process sits in it. */
export interface Hierarchy {
  version: CgroupVersion;
  /** Where the hierarchy is mounted (the directory of its top cgroup as seen here). */
  mount: string;
  /** v1: the controllers bound to this hierarchy; v2: those listed in the top cgroup.controllers. */
  controllers: string[];
  /** ctr's own cgroup in this hierarchy, as a path under `mount` ("/" for the top). */
  callerPath: string;
}

/** What the machine offers, found at run time (runtime/features/cgroup/detect.ts). */
export interface CgroupSystem {
  /** v1: only v1 mounts; v2: a single cgroup2 mount; hybrid: both (controllers in v1). */
  mode: "v1" | "v2" | "hybrid" | "none";
  /** v1 hierarchies by controller (comounted controllers share one entry). */
  v1: Partial<Record<KernelController, Hierarchy>>;
  v2: Hierarchy | null;
  /**
   * Every hierarchy mounted here that shows ctr's cgroup, once each: v1 ones
   * with controllers ctr does not use (devices, freezer...) and named ones
   * (name=systemd) too. A cgroup namespace covers all of them. Absent: those
   * of `v1` and `v2`.
   */
  all?: Hierarchy[];
}

/** One write to a cgroup file, relative to the container's cgroup of `controller`. */
export interface CgroupWrite {
  controller: KernelController;
  file: string;
  value: string;
  /** Why, for `explain` and error messages. */
  note?: string;
}
