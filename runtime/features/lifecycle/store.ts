// The state store (issue 15, item 2): one record directory per named
// container in the state root of runtime/paths.ts (/run/ctr/NAME as root,
// $XDG_RUNTIME_DIR/ctr/NAME or /tmp/ctr-UID/NAME otherwise), holding
//   .ctr-state   the marker of runtime/statedir.ts, written first (its text is
//                the name), so that removal goes through statedir's checked walk;
//   state.json   the record below, replaced atomically (write a temporary,
//                fsync, rename), so a reader sees the old or the new one, never half;
//   log          a detached container's stdout and stderr.
// The state root is opened and checked by openStateRoot (not a symlink, the
// user's, writable by nobody else, every directory above it safe): after that
// check no other user can change any component below it, so the files of a
// record are reached by path, as PID 1 reaches the per-container files
// (runtime/statedir.ts, header). A record is made with mkdirat, which fails
// when the name exists: that is what makes a name unique, even between two
// ctr started at the same time.

import { closeSync, constants, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import type { NsName } from "../../../lang/spec.ts";
import { close, mkdirat, SysError } from "../../../native/index.ts";
import type { RlimitSetting } from "../../ops.ts";
import type { UserSetting } from "../security/user.ts";
import type { CapSetting } from "../security/caps.ts";
import type { Profile } from "../security/profile.ts";
import { stateRoot } from "../../paths.ts";
import { MARKER, openStateRoot, removeStateDir } from "../../statedir.ts";
import { nameProblem } from "./names.ts";

export interface ProcRef {
  pid: number;
  /** Start time from /proc/PID/stat (runtime/features/lifecycle/procstat.ts). */
  start: number;
}

/** What `ctr exec` applies to its command: the container's process spec as its last command had it (features/process/spec.ts). */
export interface ExecDefaults {
  env: Record<string, string>;
  cwd: string;
  rlimits: RlimitSetting[];
  noNewPrivs: boolean;
  /** `cap`, `seccomp`, `user` (or the image's User) as the last command had them: steps 4 to 6 of the spec (features/security/). */
  caps?: CapSetting;
  seccomp?: Profile | null;
  user?: UserSetting;
}

export type Status = "created" | "running" | "stopped";

export interface ContainerState {
  name: string;
  /** The container's id: its per-container directory and cgroups are named after it. */
  id: string;
  status: Status;
  created: string;
  started?: string;
  finished?: string;
  /** The container's exit status; null when nobody saw it end (its supervisor was killed). */
  exitStatus?: number | null;
  /** Why it stopped, when not by itself. */
  note?: string;
  detached: boolean;
  /** The script file, or "-e". */
  script: string;
  /** What PID 1 runs (the `exec` statement), or the script. */
  command: string;
  namespaces: NsName[];
  /** The ctr process that watches the container. */
  supervisor: ProcRef | null;
  /** PID 1 (host pid). */
  pid1: ProcRef | null;
  /** The cgroup directories PID 1 is in (host paths), when the container has its own. */
  cgroups: string[];
  rootfs: string | null;
  exec: ExecDefaults | null;
}

export const recordsRoot = (): string => stateRoot();
export const recordDir = (name: string): string => `${recordsRoot()}/${name}`;
export const logPath = (name: string): string => `${recordDir(name)}/log`;

/** The state root checked (openStateRoot), or null when there is none yet. */
function checkedRoot(create: boolean): string | null {
  const fd = openStateRoot(recordsRoot(), create);
  if (fd === null) return null;
  close(fd);
  return recordsRoot();
}

/** The record directory of `name`, if it is a real directory of ours. */
function ownRecord(name: string): string | null {
  const root = checkedRoot(false);
  if (!root || nameProblem(name)) return null;
  const dir = `${root}/${name}`;
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st || !st.isDirectory() || st.uid !== (process.getuid?.() ?? 0)) return null;
  return dir;
}

/** A file written whole, never through a symlink; `exclusive`: it must not exist yet. */
function writeFile(path: string, text: string, exclusive: boolean): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : constants.O_TRUNC), 0o600);
  try {
    let data = Buffer.from(text);
    while (data.length > 0) data = data.subarray(writeSync(fd, data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Make the record of a new container: fails (125) when the name is taken. */
export function reserve(state: ContainerState): void {
  const root = checkedRoot(true)!;
  const rootFd = openStateRoot(root, false)!;
  try {
    mkdirat(rootFd, state.name, 0o711);
  } catch (e) {
    if (e instanceof SysError && e.code === "EEXIST") throw taken(state.name);
    throw e;
  } finally {
    close(rootFd);
  }
  writeFile(`${root}/${state.name}/${MARKER}`, `${state.name}\n`, true);
  writeState(state);
}

export function taken(name: string): SysError {
  return new SysError({ message: `the name ${JSON.stringify(name)} is taken by another container`, hint: `remove it first (ctr rm ${name}) or choose another --name`, status: 125 });
}

/** Replace the record atomically. False when the record is gone (removed, or /run lost). */
export function writeState(state: ContainerState): boolean {
  const dir = ownRecord(state.name);
  if (!dir) return false;
  const tmp = `${dir}/.state.json.${process.pid}`;
  try {
    writeFile(tmp, JSON.stringify(state, null, 2) + "\n", false);
    renameSync(tmp, `${dir}/state.json`);
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // not made
    }
    return false;
  }
}

/** The record of `name`, or null (none, or not readable as one). */
export function readState(name: string): ContainerState | null {
  const dir = ownRecord(name);
  if (!dir) return null;
  try {
    const s = JSON.parse(readFileSync(`${dir}/state.json`, "utf8")) as ContainerState;
    return s && s.name === name ? s : null;
  } catch {
    return null;
  }
}

/** Whether a record directory of `name` exists (even one whose state.json is unreadable). */
export function exists(name: string): boolean {
  return ownRecord(name) !== null;
}

/** Every record, by name. */
export function listStates(): ContainerState[] {
  let root: string | null;
  try {
    root = checkedRoot(false);
  } catch {
    return [];
  }
  if (!root) return [];
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch (e) {
    // The last container's teardown removes the empty root (statedir.ts): gone since the check, there is no record.
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw e;
  }
  const out: ContainerState[] = [];
  for (const name of names) {
    if (nameProblem(name)) continue;
    const s = readState(name);
    if (s) out.push(s);
  }
  return out;
}

/** Remove the record directory (statedir's checked walk), and the state root when it is empty. */
export function removeRecord(name: string): void {
  if (!ownRecord(name)) return;
  removeStateDir(recordDir(name));
}
