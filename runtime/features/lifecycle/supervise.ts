// The ctr process that runs a named container is its supervisor (issue 15,
// item 3): the CLI itself for `ctr --name NAME FILE`, and for `-d` a ctr of its
// own started in a new session (`ctr --supervise NAME FILE`, spawned by the
// user's shared monitor for commands.ts, monitor.ts), its stdout and stderr
// the container's log; with `ns pid` it hands the container to the monitor
// once the command runs, and ends (adopt.ts). It runs the script
// as any ctr does (runtime/execute.ts: stage 1 watches it, and kills the
// container if it dies), and keeps the record of runtime/features/lifecycle/store.ts:
// "running" with PID 1's pid, start time and cgroups once PID 1 is up (before
// the script's first `run`, or once `exec` made the command PID 1), "stopped"
// with the exit status when the container ended and its teardown is done.

import { readFileSync } from "node:fs";
import { SysError } from "../../../native/error.ts";
import { removeRootIfEmpty } from "../../statedir.ts";
import type { Op, Plan } from "../../ops.ts";
import { allHierarchies, callerDir, detectCgroups } from "../cgroup/detect.ts";
import { cgroupName } from "../cgroup/track.ts";
import { DEFAULT_PATH } from "../process/spec.ts";
import { capChange } from "../security/caps.ts";
import { orderNamespaces } from "../ns/ns.ts";
import { processRef, sameProcess } from "./procstat.ts";

/** How often a supervisor looks for its record (see Supervision.started). */
const WATCH_MS = 1000;
import { exists, readState, recordsRoot, reserve, taken, writeState, type ContainerState, type ExecDefaults } from "./store.ts";

export interface NamedRun {
  name: string;
  detached: boolean;
}

/** The process spec a command of the container starts with: the plan's env, cwd, rlimit, no_new_privs, cap, seccomp and user up to its `exec`. */
export function execDefaults(ops: readonly Op[]): ExecDefaults {
  const d: ExecDefaults = { env: { PATH: DEFAULT_PATH, HOME: "/root" }, cwd: "/", rlimits: [], noNewPrivs: false };
  for (const op of ops) {
    if (op.kind === "env") Object.assign(d.env, op.vars);
    else if (op.kind === "cwd") d.cwd = op.dir;
    else if (op.kind === "rlimit") d.rlimits = [...d.rlimits.filter((r) => r.name !== op.name), { name: op.name, soft: op.soft, hard: op.hard }];
    else if (op.kind === "no-new-privs") d.noNewPrivs = true;
    else if (op.kind === "cap") d.caps = capChange(d.caps, op.form, op.caps);
    else if (op.kind === "seccomp") d.seccomp = op.profile;
    else if (op.kind === "user") d.user = op.user;
    else if (op.kind === "rootfs" && op.image?.user && d.user === undefined) d.user = op.image.user; // as mountImageRoot
    if (op.kind === "exec") break;
  }
  return d;
}

/** The container's own cgroup directories that `pid` is in (host paths): named after the container's id. */
export function cgroupDirsOf(pid: number, id: string): string[] {
  const readFile = (p: string): string | null => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return null;
    }
  };
  const procCgroup = readFile(`/proc/${pid}/cgroup`);
  if (!procCgroup) return [];
  const sys = detectCgroups({ mountinfo: readFile("/proc/self/mountinfo") ?? "", procCgroup, readFile });
  const name = cgroupName(id);
  return [...new Set(allHierarchies(sys).map(callerDir))].filter((d) => d.split("/").some((part) => part === name || part === `${name}-host`));
}

/** A new record, status "created", for a container about to be made by `supervisor`. */
export function newState(run: NamedRun, script: string, supervisor: number): ContainerState {
  return {
    name: run.name,
    id: "",
    status: "created",
    created: new Date().toISOString(),
    detached: run.detached,
    script,
    command: script,
    namespaces: [],
    supervisor: processRef(supervisor),
    pid1: null,
    cgroups: [],
    rootfs: null,
    exec: null,
  };
}

/** The supervisor's side of the record, from the plan to the container's end. */
export class Supervision {
  private constructor(private state: ContainerState) {}

  /**
   * Take the record: reserve it (a foreground `ctr --name`), or adopt the one
   * the CLI reserved for this detached supervisor.
   */
  static begin(run: NamedRun, script: string, id: string, plan: Plan): Supervision {
    let state: ContainerState;
    if (run.detached) {
      const s = readState(run.name);
      if (!s || s.status !== "created") throw new SysError({ message: `no container record ${JSON.stringify(run.name)} to supervise`, status: 125 });
      state = s;
    } else {
      if (exists(run.name)) throw taken(run.name);
      state = newState(run, script, process.pid);
      reserve(state);
    }
    const exec = plan.ops.find((o) => o.kind === "exec");
    const rootfs = plan.ops.find((o) => o.kind === "rootfs");
    Object.assign(state, {
      id,
      supervisor: processRef(process.pid),
      // Joined ones too (`join`): `ctr exec` enters them as well.
      namespaces: orderNamespaces([...plan.namespaces, ...plan.ops.flatMap((o) => (o.kind === "join" ? o.namespaces : []))]),
      command: exec?.kind === "exec" ? exec.argv.join(" ") : script,
      rootfs: rootfs?.kind === "rootfs" ? rootfs.dir : null,
      exec: execDefaults(plan.ops),
    });
    writeState(state);
    return new Supervision(state);
  }

  private watch: ReturnType<typeof setInterval> | null = null;

  /**
   * PID 1 is up: the record says so, with what `ctr exec` needs. From then on
   * the record is looked at every second: a record that is gone (/run lost,
   * as after a reboot, while the processes live) leaves a container nobody can
   * find, stop or remove, so its PID 1 is killed, and the container ends and
   * is torn down as any other.
   */
  started(pid1: number): void {
    if (this.state.status === "running") return;
    this.state.status = "running";
    this.state.started = new Date().toISOString();
    this.state.pid1 = processRef(pid1);
    this.state.cgroups = cgroupDirsOf(pid1, this.state.id);
    writeState(this.state);
    const ref = this.state.pid1;
    this.watch = setInterval(() => {
      if (exists(this.state.name) || !sameProcess(ref)) return;
      try {
        process.kill(ref!.pid, "SIGKILL"); // a grandchild of this process, not reaped yet: still that PID
      } catch {
        // ended meanwhile
      }
    }, WATCH_MS);
  }

  /** The shared monitor took the container (adopt.ts): it watches the record from here on. */
  handedOver(): void {
    if (this.watch) clearInterval(this.watch);
  }

  /** The container ended and was torn down: its status. */
  finished(status: number): void {
    if (this.watch) clearInterval(this.watch);
    this.state.status = "stopped";
    this.state.finished = new Date().toISOString();
    this.state.exitStatus = status;
    this.state.supervisor = null;
    if (!writeState(this.state)) removeRootIfEmpty(recordsRoot()); // the record was lost: the state root may be left empty

  }
}
