// The OCI runtime's state (runtime-spec runtime.md, "State"): one directory
// per container id under the root the client names (`--root DIR`, as runc's
// /run/runc; default ctr's state root with `-oci` appended: /run/ctr-oci as
// root), holding
//   state.json   the record below, replaced atomically (written to a
//                temporary, then renamed), so a reader sees the old or the new;
//   error        why the supervisor could not create the container (create
//                reads it, says it and removes the directory);
//   start.sock   where the supervisor waits for `start` (supervise.ts).
// The directory is made with mkdir, which fails when the id exists: that is
// what makes an id unique, even between two `create`s at the same time.

import { mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { SysError } from "../../../native/error.ts";
import { sameProcess } from "../lifecycle/procstat.ts";
import type { ProcRef } from "../lifecycle/store.ts";
import type { HeldResources } from "../../session.ts";
import type { Hook } from "./hooks.ts";
import { machineCgroups } from "../cgroup/detect.ts";
import { freezerOfProc, freezerState } from "../cgroup/freezer.ts";
import { realFs } from "../cgroup/fs.ts";
import { cgroupName } from "../cgroup/track.ts";

/** The runtime spec version ctr's state and `spec` say. */
export const OCI_VERSION = "1.0.2";

/** "paused" is never stored: it is read from the container's freezer cgroup (containerFreezer). */
export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface OciRecord {
  id: string;
  status: OciStatus;
  bundle: string;
  annotations: Record<string, string>;
  created: string;
  /** The ctr process that drives the container (supervise.ts). */
  supervisor: ProcRef | null;
  /** PID 1, host pid: ctr's agent until `start`, then the command. */
  pid1: ProcRef | null;
  /** ctr's own id of the container: its per-container directory and cgroups. */
  cid: string;
  exitStatus?: number;
  /**
   * Once `create` let PID 1 go (supervise.ts): what the container keeps on the
   * host, which `delete` removes (teardown.ts).
   */
  held?: HeldResources;
  /** The config's poststop hooks, run by `delete` (hooks.ts). */
  poststop?: Hook[];
}

/** An id as runc takes one: letters, digits, `_`, `+`, `-`, `.`; not `.` or `..`. */
export function checkId(id: string): string {
  if (!/^[\w+.-]+$/.test(id) || id === "." || id === ".." || id.length > 1024) throw new SysError({ message: `invalid container id ${JSON.stringify(id)}`, hint: "an id is letters, digits, `_`, `+`, `-` and `.`" });
  return id;
}

import { defaultRoot } from "./recognise.ts";

export { defaultRoot };

export class OciStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return `${this.root}/${checkId(id)}`;
  }

  /** Make the container's directory; fails when the id is taken. */
  reserve(id: string): string {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new SysError({ message: `container with id exists: ${id}` });
      throw e;
    }
    return dir;
  }

  write(rec: OciRecord): void {
    const file = `${this.dir(rec.id)}/state.json`;
    writeFileSync(`${file}.tmp`, JSON.stringify(rec) + "\n", { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  read(id: string): OciRecord | null {
    try {
      return JSON.parse(readFileSync(`${this.dir(id)}/state.json`, "utf8")) as OciRecord;
    } catch {
      return null;
    }
  }

  /** The record, or the error runc gives for an id it does not know. */
  get(id: string): OciRecord {
    const rec = this.read(id);
    if (!rec) throw new SysError({ message: "container does not exist" }); // runc's words, which containerd and podman look for
    return rec;
  }

  /** Remove the container's directory; the default root too when it is left empty (a root given with --root is the client's). */
  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
    if (this.root !== defaultRoot()) return;
    try {
      rmdirSync(this.root);
    } catch {
      // other containers' directories are there
    }
  }
}

/** The process is there and not a zombie. */
export function running(ref: { pid: number; start: number }): boolean {
  if (!sameProcess(ref)) return false;
  try {
    const stat = readFileSync(`/proc/${ref.pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The status as the state says it: a container whose processes are gone is stopped, whatever its record said last. */
export function liveStatus(rec: OciRecord): OciStatus {
  if (rec.status === "stopped") return "stopped";
  if (rec.status === "creating") return rec.supervisor && running(rec.supervisor) ? "creating" : "stopped";
  if (!rec.pid1 || !running(rec.pid1)) return "stopped";
  const dir = rec.status === "running" || rec.status === "created" ? containerFreezer(rec) : null;
  if (dir) {
    try {
      if (freezerState(realFs, dir) !== "thawed") return "paused";
    } catch {
      // the cgroup went with the container's last process
    }
  }
  return rec.status;
}

/**
 * The container's own freezer cgroup, found from PID 1's /proc/PID/cgroup;
 * null when PID 1 is not in one of the container's own cgroups (one the
 * record holds, or named after ctr's id of it): ctr never freezes a cgroup
 * that is not the container's, such as the one the host put it in.
 */
export function containerFreezer(rec: OciRecord): string | null {
  if (!rec.pid1) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${rec.pid1.pid}/cgroup`, "utf8");
  } catch {
    return null;
  }
  const dir = freezerOfProc(machineCgroups(), text);
  if (!dir) return null;
  return ownCgroup(rec, dir) ? dir : null;
}

/** `dir` is one of the container's own cgroups: one the record holds, or named after ctr's id of it. */
export function ownCgroup(rec: OciRecord, dir: string): boolean {
  return rec.held ? rec.held.cgroups.includes(dir) : dir.slice(dir.lastIndexOf("/") + 1) === cgroupName(rec.cid);
}

/** The state JSON of the runtime spec (what `state ID` prints). */
export function specState(rec: OciRecord): Record<string, unknown> {
  const status = liveStatus(rec);
  return {
    ociVersion: OCI_VERSION,
    id: rec.id,
    status,
    pid: status === "created" || status === "running" || status === "paused" ? (rec.pid1?.pid ?? 0) : 0,
    bundle: rec.bundle,
    annotations: rec.annotations,
    created: rec.created,
  };
}
