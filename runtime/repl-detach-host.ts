// The REPL's `:detach [NAME]` (issue 15, item 4), on the REPL's side: the
// container stays, running under NAME as a detached one (`ctr ps`, `exec`,
// `logs`, `stop`, `rm`), and the session ends without tearing it down. Its
// stage 1 becomes its supervisor (runtime/features/lifecycle/repl-detach.ts
// says how, and what each step does there). The order here:
//   1. what cannot be detached is refused, and a taken name, before anything
//      changes: the session goes on;
//   2. the record is reserved (store.ts: the name is taken from here on), the
//      per-container directory made if it was not yet and marked with stage 1
//      as its owner (the sweeps go by the REPL's PID otherwise), and what stage 1
//      needs opened here, on the host's tree: the log, the record's directory,
//      the state root, each cgroup's parent;
//   3. stage 1: prepare (those descriptors, the names to remove below them);
//   4. PID 1: detach, on the control channel (the log as its stdio);
//   5. the record says "running", with what `ctr exec` needs;
//   6. stage 1: commit (it stops watching this process).
// A failure in 2 or 3 removes the record and the session goes on; after 3 the
// container may already write to the log, so a failure there ends it (Fatal).

import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, SysError, open, pollReadable, read, sendFds } from "../native/index.ts";
import { wireToError } from "./channel/codec.ts";
import type { NsName } from "../lang/spec.ts";
import type { Launch } from "./host.ts";
import type { Op } from "./ops.ts";
import type { ContainerSession } from "./session.ts";
import { makeStateDir, openStateRoot, writeOwner } from "./statedir.ts";
import { orderNamespaces } from "./features/ns/ns.ts";
import type { DetachReply, DetachRequest } from "./features/lifecycle/repl-detach.ts";
import { checkName, generateName } from "./features/lifecycle/names.ts";
import { processRef } from "./features/lifecycle/procstat.ts";
import { exists, logPath, recordDir, removeRecord, reserve, taken, writeState } from "./features/lifecycle/store.ts";
import { cgroupDirsOf, execDefaults, newState } from "./features/lifecycle/supervise.ts";

const EXIT_USAGE = 2;
const EXIT_SETUP = 125;

/** A failure after PID 1 may have been told: the container cannot go on as the session's. */
export class Fatal extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export interface DetachInput {
  /** The name asked for, or "" for a generated one. */
  name: string;
  id: string;
  life: ContainerSession;
  launch: Launch;
  /** The container's namespaces, and the operations that took effect (the session's, replanned). */
  namespaces: readonly NsName[];
  ops: readonly Op[];
  /** The per-container directory's path, whether it exists yet, and the hostname its files start with. */
  stateDir: string;
  stateDirMade: boolean;
  hostname: string | null;
}

const notYet = (why: string, hint?: string): SysError => new SysError({ message: `\`:detach\` is not supported yet for this container: ${why}`, status: EXIT_USAGE, ...(hint ? { hint } : {}) });

/** Detach the container (see the header); returns its name. SysError: nothing changed. Fatal: the container is to be ended. */
export async function detachContainer(d: DetachInput): Promise<string> {
  const c = d.life.container;
  if (!c) throw new SysError({ message: "there is no container to detach yet", hint: "create it first: ns uts, pid, mnt", status: EXIT_USAGE });
  // Stage 1 removes the container's directory and cgroups and writes its record as the host user it
  // is: in a user namespace, the one its root is mapped to. Rootless (root mapped to this user) it is
  // this user; a namespace whose root is another host user could not touch this user's files.
  const stage1Uid = hostUid(d.launch.stage1.pid);
  const me = process.getuid?.() ?? 0;
  if (stage1Uid !== null && stage1Uid !== me) {
    throw notYet(`its stage 1, which would supervise it, is host uid ${stage1Uid} (its user namespace's root), and the state store, the container's directory and cgroups are uid ${me}'s`, "map the namespace's root to your own uid (`map uid 0 " + me + " 1`), or `:save FILE` and run it detached: ctr -d --name NAME FILE");
  }
  if (d.launch.detachFd < 0 || d.launch.direct) throw notYet("its stage 1 was not started to be handed a container");
  const m = d.life.cgroups;
  if ((m?.parentsMade.length ?? 0) > 0) throw notYet("its cgroups were placed under directories made for them");
  if ((m?.made ?? []).some((dir) => dir.endsWith("-host"))) {
    throw notYet("ctr moved itself into a leaf of its own cgroup to delegate controllers (cgroup v2), and its stage 1 would have nowhere to go to remove the container's cgroups at the end", "`:save FILE`, then run it detached: ctr -d --name NAME FILE");
  }
  // The name: checked and free, before anything changes.
  let name = d.name ? checkName(d.name) : "";
  if (name && exists(name)) throw Object.assign(taken(name), { hint: `choose another name: :detach NAME (\`ctr ps -a\` lists them), or remove it first (ctr rm ${name})` });
  const stage1 = processRef(d.launch.stage1.pid);
  const pid1 = processRef(c.pid1);
  if (!stage1 || !pid1) throw new SysError({ message: "the container ended meanwhile", status: EXIT_SETUP });
  const exec = d.ops.find((o) => o.kind === "exec");
  if (exec) throw new SysError({ message: "PID 1 has exec'd the command: nothing of ctr's is left in the container to keep it without this session", status: EXIT_USAGE });

  // 2. The record (the name is ours from here), the directory with its owner, the log.
  for (let attempt = 0; ; attempt++) {
    const n = name || generateName();
    try {
      reserve(newState({ name: n, detached: true }, "<repl>", stage1.pid));
      name = n;
      break;
    } catch (e) {
      if (d.name || attempt > 8 || !(e instanceof SysError && e.message.includes("taken"))) throw e;
    }
  }
  const cgroups = [...(m?.made ?? [])];
  const rootfs = d.ops.find((o) => o.kind === "rootfs");
  const state = {
    ...newState({ name, detached: true }, "<repl>", stage1.pid),
    id: d.id,
    namespaces: orderNamespaces(d.namespaces),
    command: "(a REPL session, detached)",
    rootfs: rootfs?.kind === "rootfs" ? rootfs.dir : null,
    exec: execDefaults(d.ops),
  };
  const fds: number[] = [];
  try {
    if (!d.stateDirMade) makeStateDir(d.id, d.hostname);
    writeOwner(d.stateDir, stage1);
    writeState(state);
    // What stage 1 needs at the end, opened here, on the host's tree (see repl-detach.ts):
    // the log, /dev/null, the record's directory, the state root (checked), each cgroup's parent.
    fds.push(openSync(logPath(name), constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600));
    fds.push(openSync("/dev/null", constants.O_RDWR));
    fds.push(open(recordDir(name), DIR));
    const root = openStateRoot(dirname(d.stateDir), false);
    if (root === null) throw new SysError({ message: `no state root ${dirname(d.stateDir)}`, status: EXIT_SETUP });
    fds.push(root);
    for (const dir of cgroups) fds.push(open(dirname(dir), DIR));
    // 3. Stage 1 prepares (it can still go back: nothing of PID 1 has changed).
    ask(d.launch.detachFd, { t: "prepare", name, id: d.id, stateDir: basename(d.stateDir), cgroups: cgroups.map((dir) => basename(dir)) }, fds);
  } catch (e) {
    removeRecord(name);
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  try {
    // 4. PID 1 takes the log and outlives the channel.
    await c.detach();
    // 5. What `ctr ps` and `ctr exec` read.
    Object.assign(state, { status: "running", started: new Date().toISOString(), pid1, cgroups: cgroupDirsOf(c.pid1, d.id) });
    if (!writeState(state)) throw new SysError({ message: `the record of ${name} is gone`, status: EXIT_SETUP });
    // 6. Stage 1 stops watching this process.
    ask(d.launch.detachFd, { t: "commit" }, []);
  } catch (e) {
    removeRecord(name);
    throw new Fatal(e);
  }
  return name;
}

const DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** The effective uid of process `pid` on the host (/proc/PID/status), or null when it is gone. */
function hostUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** One request to stage 1 and its answer (a few small lines: blocking is brief). */
function ask(sock: number, req: DetachRequest, fds: readonly number[]): void {
  const data = new TextEncoder().encode(JSON.stringify(req) + "\n");
  if (sendFds(sock, data, fds) !== data.length) throw new SysError({ message: "`:detach`: a short write to stage 1", status: EXIT_SETUP });
  let text = "";
  const buf = new Uint8Array(65536);
  while (!text.includes("\n")) {
    if (pollReadable([sock], 10_000).length === 0) throw new SysError({ message: "`:detach`: stage 1 did not answer", status: EXIT_SETUP });
    const n = read(sock, buf);
    if (n <= 0) throw new SysError({ message: "`:detach`: stage 1 ended", status: EXIT_SETUP });
    text += Buffer.from(buf.subarray(0, n)).toString("utf8");
  }
  const r = JSON.parse(text.slice(0, text.indexOf("\n"))) as DetachReply;
  if ("error" in r) throw wireToError(r.error);
}
