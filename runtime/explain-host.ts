// `ctr explain`'s lines for the ops the host side and stage 1 perform: each op's
// executor run against native/recording.ts's RecordingSys, as runtime/session.ts
// and runtime/init.ts call them, rendered by runtime/explain.ts's rules
// (docs/ARCHITECTURE.md, "ctr explain"). This file says only how each executor is
// called on the recorder and on what tree; nothing here says what an op calls.
//
//   unshare       stage 1's unshareNamespaces, then (user namespace) takeMappedIds
//                 with the ids the plan's maps give (features/ns/unshare.ts);
//   idmap         writeIdMaps with every `map` line of the plan, as root and
//                 rootless (features/userns/userns.ts); the first line of each map
//                 carries the map's write;
//   net-host      NetHost.setUp of the op's link (features/net/host.ts), on a
//                 recorder that knows the links the requests made;
//   cgroup-limit  CgroupManager.create of the limits before the first command, then
//                 apply of each later one (features/cgroup/manager.ts), through
//                 cgroupFs(recorder), on a copy of the names (and the few texts the
//                 manager reads) of this machine's cgroups; an op's lines are what
//                 its limit adds to the calls of the limits before it.
//   join          stage 1's joinRunning on a stand-in of the target's /proc files
//                 (features/ns/joined.ts), then stage 2's enterJoinedMount; the
//                 pidfd and start-time checks against the record are comments.
// Stage 1's PID is STAGE1_PID, above the kernel's pid_max ceiling: no process has it,
// and explain writes it STAGE1; the joined container's PID 1 is TARGET_PID, written TARGET.

import { readdirSync, readFileSync } from "node:fs";
import { RecordingSys, type FakeNode, type RecordedCall } from "../native/recording.ts";
import { SysError } from "../native/error.ts";
import type { Op } from "./ops.ts";
import { joinByPath, takeMappedIds, unshareNamespaces } from "./features/ns/unshare.ts";
import type { NsName } from "../lang/spec.ts";
import { enterJoinedMount, joinRunning, type JoinLook } from "./features/ns/joined.ts";
import { NS_PROC_NAME } from "./features/ns/ns.ts";
import { becomeOf, idMapsOf, writeIdMaps } from "./features/userns/userns.ts";
import { hostEndName, NetHost } from "./features/net/host.ts";
import { answerAsIfLinked } from "./features/net/rtnl.ts";
import { decode, encode, IFLA_IFNAME, NLM_F_CAPPED, NLM_F_CREATE, NLMSG_ERROR, parseAttrs, RTM_GETLINK, RTM_NEWLINK } from "./features/net/codec.ts";
import { allHierarchies, machineCgroups } from "./features/cgroup/detect.ts";
import { cgroupFs } from "./features/cgroup/fs.ts";
import { CgroupManager, isolation } from "./features/cgroup/manager.ts";
import { limitsAtStart } from "./features/cgroup/plan.ts";
import type { CgroupSystem } from "./features/cgroup/types.ts";

/** Stage 1's PID on the recorder: 2^22 + 1, above the highest pid_max (explain writes STAGE1). */
export const STAGE1_PID = 4194305;

/** The joined container's PID 1 on the recorder: 2^22 + 2 (explain writes TARGET). */
export const TARGET_PID = 4194306;

/** The container ID explain names its cgroups and links by. */
export const EXPLAIN_ID = "ID";

/** How the machine can differ for a host op: the branches its executor takes. */
export interface HostScene {
  /** ctr is not root: the maps go through newuidmap/newgidmap unless they map only one's own id. */
  rootless?: boolean;
  /** /proc/STAGE1/setgroups says "deny" (a rootless map of one's own gid wrote it). */
  deny?: boolean;
  /** Every controller is enabled in cgroup.subtree_control from the top down already (v2). */
  enabled?: boolean;
}

/** The calls an op's executor made in a scene, and those of the ops before it to take away (cgroups). */
export interface HostRun {
  calls: RecordedCall[];
  /** Only the calls that the run with this op (cur) makes and the one without it (prev) does not. */
  within?: { cur: RecordedCall[]; prev: RecordedCall[] };
}

type HostDeriver = (op: Op, ctx: { ops: readonly Op[]; cgroups?: { sys: CgroupSystem; id: string }; runs?: Map<string, RecordedCall[]> }, scene: HostScene) => HostRun;

/** The ids the rootless scene writes the maps as: the caller's own, or 1000 when ctr runs as root. */
export function rootlessIds(): { euid: number; egid: number } {
  const euid = process.geteuid?.() ?? 0;
  return euid === 0 ? { euid: 1000, egid: 1000 } : { euid, egid: process.getegid?.() ?? 0 };
}

/** Stage 1's calls: the unshare, the private tree, and with a user namespace the mapped ids it takes. */
export function stage1Calls(sys: RecordingSys, namespaces: Extract<Op, { kind: "unshare" }>["namespaces"], ops: readonly Op[], paths: readonly { ns: NsName; path: string }[] = []): void {
  // As stage 1 (runtime/init.ts): the namespaces given by path joined first, the others made.
  for (const { path } of paths) sys.add(path, "file");
  joinByPath(sys, paths);
  unshareNamespaces(sys, namespaces.filter((n) => !paths.some((p) => p.ns === n)));
  // A user namespace joined by path has its maps: stage 1 took root in it as it joined.
  if (namespaces.includes("user") && !paths.some((p) => p.ns === "user")) {
    const become = becomeOf(idMapsOf(ops));
    takeMappedIds(sys, become.uid, become.gid);
  }
}

/** The id maps, written as the host writes them between unshare and PID 1 (runtime/session.ts). */
export function idMapCalls(sys: RecordingSys, ops: readonly Op[], rootless: boolean): void {
  const files = { writeFile: (p: string, t: string) => sys.writeFile(p, t), helper: (path: string, args: string[]) => sys.record(path.slice(path.lastIndexOf("/") + 1), args) };
  writeIdMaps(STAGE1_PID, idMapsOf(ops), undefined, files, rootless ? rootlessIds() : { euid: 0, egid: 0 });
}

/** A recorder that answers rtnetlink as the host would: a link exists once a request made it. */
export function hostNetSys(): RecordingSys {
  const sys = new RecordingSys({});
  const made = new Set<string>();
  let index = 0;
  const indexes = new Map<string, number>();
  sys.on("netlink", (args) => {
    const req = args[1] as Uint8Array;
    const m = decode(req)[0];
    const name = m ? parseAttrs(m.payload.subarray(16)).find((a) => a.type === IFLA_IFNAME) : undefined;
    const ifname = name ? new TextDecoder().decode(name.value).replace(/\0+$/, "") : "";
    if (m?.type === RTM_NEWLINK && (m.flags & NLM_F_CREATE) !== 0) made.add(ifname);
    if (m?.type === RTM_GETLINK && !made.has(ifname)) {
      // The kernel's ENODEV: an NLMSG_ERROR whose error is -19, and the request's header.
      const body = new Uint8Array(20);
      new DataView(body.buffer).setInt32(0, -19, true);
      body.set(req.subarray(0, 16), 4);
      return encode({ type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: m.seq, body, attrs: [] });
    }
    if (!indexes.has(ifname)) indexes.set(ifname, 10 + index++);
    return answerAsIfLinked(req, indexes.get(ifname)!);
  });
  return sys;
}

/** The host's part of the `net-host` ops, with their host ends named as the session names them. */
export function netHostCalls(sys: RecordingSys, netOps: readonly Extract<Op, { kind: "net-host" }>[]): void {
  new NetHost(EXPLAIN_ID, netOps, sys).setUp(STAGE1_PID);
}

/**
 * A recorder holding this machine's cgroups as ctr would find them: for each hierarchy,
 * the directories from its top down to ctr's own, with their files' names (a cgroup made
 * by mkdir gets its parent's, as the kernel gives it its controllers' files) and the texts
 * the manager reads; no process in them (the delegation protocol is not shown).
 */
export function cgroupSys(cg: CgroupSystem, scene: HostScene): RecordingSys {
  const sys = new RecordingSys({});
  const names = new Map<string, string[]>();
  const READ = /^(cgroup\.controllers|cpuset\.(cpus|mems|effective_cpus|effective_mems)|memory\.(max|memsw\.limit_in_bytes|swap\.max))$/;
  for (const h of allHierarchies(cg)) {
    const dirs = [h.mount];
    for (const part of h.callerPath.split("/").filter(Boolean)) dirs.push(`${dirs.at(-1)}/${part}`);
    for (const dir of dirs) {
      let files: string[] = [];
      try {
        files = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
      } catch {
        // not readable here: the manager finds what it finds
      }
      sys.add(dir, "dir");
      names.set(dir, files);
      for (const f of files) {
        let text = "";
        if (READ.test(f) || f === "cgroup.subtree_control") {
          try {
            text = readFileSync(`${dir}/${f}`, "utf8");
          } catch {
            // a file that cannot be read reads empty
          }
        }
        // Enabled already: every controller of the top, offered and enabled all the way down.
        if ((f === "cgroup.subtree_control" || f === "cgroup.controllers") && scene.enabled && h.version === "v2") text = readText(`${h.mount}/cgroup.controllers`).trim();
        sys.text(`${dir}/${f}`, text);
      }
    }
  }
  sys.on("mkdir", (args) => {
    const path = String(args[0]);
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (sys.exists(path)) throw SysError.fromErrno("mkdir", args, 17);
    sys.add(path, "dir");
    for (const f of names.get(parent) ?? []) if (!f.startsWith("cgroup.") || f === "cgroup.procs" || f === "cgroup.controllers" || f === "cgroup.subtree_control") sys.text(`${path}/${f}`, "");
    return undefined;
  });
  return sys;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

type LimitOp = Extract<Op, { kind: "cgroup-limit" }>;

/** The limits written when the cgroups are made (before the first command), and the later ones, as runtime/execute.ts splits them. */
export function limitsOf(ops: readonly Op[]): { start: LimitOp[]; later: LimitOp[] } {
  const atStart = limitsAtStart(ops);
  const all = ops.filter((o): o is LimitOp => o.kind === "cgroup-limit");
  return { start: all.filter((o) => atStart.has(o)), later: all.filter((o) => !atStart.has(o)) };
}

/**
 * The cgroup calls of the session (runtime/session.ts, cgroupHook) up to `upTo` limits:
 * create with the first start ones (all when upTo reaches the later ones), the
 * accounting and isolation cgroups the plan asks for, then apply of each later one.
 */
export function cgroupCalls(sys: RecordingSys, cg: CgroupSystem, ops: readonly Op[], upTo: number, id = EXPLAIN_ID): void {
  const { start: startOps, later: laterOps } = limitsOf(ops);
  const start = startOps.map((o) => o.limit);
  const later = laterOps.map((o) => o.limit);
  const m = new CgroupManager(id, cg, { fs: cgroupFs(sys), kernel: sys, selfPid: STAGE1_PID + 1, sleep: async () => {}, kill: () => {} });
  const first = start.slice(0, upTo);
  const unshare = ops.find((o) => o.kind === "unshare");
  const namespaces = unshare?.kind === "unshare" ? unshare.namespaces : [];
  if (first.length > 0 || upTo > start.length) m.createNow(first, { accounting: ops.some((o) => o.kind === "show-cgroup"), later, isolate: isolation(cg, { namespaces }) }, [STAGE1_PID]);
  for (const l of later.slice(0, Math.max(0, upTo - start.length))) m.apply(l);
}

const cgroupLimit: HostDeriver = (op, { ops, cgroups, runs }, scene) => {
  const cg = cgroups?.sys ?? machineCgroups();
  const id = cgroups?.id ?? EXPLAIN_ID;
  if (cg.mode === "none") return { calls: [] };
  const { start, later } = limitsOf(ops);
  const all = [...start, ...later];
  const at = all.indexOf(op as LimitOp) + 1;
  // The session's calls up to n limits, once per plan and scene (a script of many limits would repeat them).
  const run = (n: number) => {
    const key = `cgroup ${JSON.stringify(scene)} ${n}`;
    const known = runs?.get(key);
    if (known) return known;
    const sys = cgroupSys(cg, scene);
    const from = sys.calls.length;
    if (n > 0) cgroupCalls(sys, cg, ops, n, id);
    const calls = sys.calls.slice(from);
    runs?.set(key, calls);
    return calls;
  };
  return { calls: run(all.length), within: { cur: run(at), prev: run(at - 1) } };
};

const unshare: HostDeriver = (op, { ops }, scene) => {
  if (op.kind !== "unshare") return { calls: [] };
  const sys = new RecordingSys({ "/proc/self/task/1": "dir" });
  sys.text("/proc/self/setgroups", scene.deny ? "deny" : "allow");
  const from = sys.calls.length;
  stage1Calls(sys, op.namespaces, ops, op.paths);
  return { calls: sys.calls.slice(from) };
};

const idmap: HostDeriver = (op, { ops }, scene) => {
  if (op.kind !== "idmap") return { calls: [] };
  // One write(2) per map: the first line of each map carries it.
  if (ops.find((o) => o.kind === "idmap" && o.which === op.which) !== op) return { calls: [] };
  const sys = new RecordingSys({});
  idMapCalls(sys, ops, scene.rootless === true);
  return { calls: sys.calls.filter((c) => idMapCallOf(c) === op.which) };
};

/** Which map a call of idMapCalls writes. */
export function idMapCallOf(c: RecordedCall): "uid" | "gid" | null {
  const what = c.name === "write" ? String(c.args[0]) : c.name;
  if (/uid_map$|newuidmap/.test(what)) return "uid";
  if (/gid_map$|setgroups$|newgidmap/.test(what)) return "gid";
  return null;
}

/** `join`: stage 1's joinRunning on the target's /proc files, then stage 2's enterJoinedMount (features/ns/joined.ts). */
export function joinCalls(sys: RecordingSys, op: Extract<Op, { kind: "join" }>): void {
  const proc = `/proc/${TARGET_PID}`;
  sys.text(`${proc}/status`, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
  sys.text(`${proc}/setgroups`, "allow");
  const look: JoinLook = { pidfd: () => -1, same: () => {}, shared: () => false, inherit: () => {}, done: () => {} };
  const handOver = joinRunning(sys, { name: op.name, pid: TARGET_PID, start: 0, namespaces: op.namespaces }, look);
  if (handOver) enterJoinedMount(sys, handOver);
}

/** The files joinCalls reads. */
export function joinFiles(op: Extract<Op, { kind: "join" }>): Record<string, FakeNode> {
  const proc = `/proc/${TARGET_PID}`;
  const files: Record<string, FakeNode> = { [`${proc}/root`]: "dir", [`${proc}/status`]: "file", [`${proc}/setgroups`]: "file", "/proc/self/task/1": "dir" };
  for (const ns of op.namespaces) files[`${proc}/ns/${NS_PROC_NAME[ns]}`] = "file";
  return files;
}

const join: HostDeriver = (op) => {
  if (op.kind !== "join") return { calls: [] };
  const sys = new RecordingSys(joinFiles(op));
  joinCalls(sys, op);
  return { calls: sys.calls };
};

const netHost: HostDeriver = (op, { ops }) => {
  if (op.kind !== "net-host") return { calls: [] };
  const sys = hostNetSys();
  netHostCalls(sys, [namedHostLink(op, ops)]);
  return { calls: sys.calls };
};

/** The op with its host end named as the session names it (by its place among the plan's links). */
export function namedHostLink(op: Extract<Op, { kind: "net-host" }>, ops: readonly Op[]): Extract<Op, { kind: "net-host" }> {
  const n = ops.filter((o) => o.kind === "net-host").indexOf(op);
  return { ...op, link: { ...op.link, hostName: op.link.hostName ?? hostEndName(EXPLAIN_ID, n) } };
}

/** The host side's and stage 1's op kinds, each with how its executor runs on the recorder. */
export const HOST_DERIVERS = { unshare, idmap, "net-host": netHost, "cgroup-limit": cgroupLimit, join } satisfies Partial<Record<Op["kind"], HostDeriver>>;

/** The scenes each host kind is run in besides the base one, and what a line found in only one says. */
export const HOST_VARIANTS: Partial<Record<Op["kind"], { scene: HostScene; only: string; missing: string; sayError?: boolean }[]>> = {
  unshare: [{ scene: { deny: true }, only: "if setgroups is denied", missing: "unless setgroups is denied (a rootless map of one's own gid)" }],
  idmap: [{ scene: { rootless: true }, only: `rootless (uid ${rootlessIds().euid})`, missing: "as root", sayError: true }],
  "cgroup-limit": [{ scene: { enabled: true }, only: "if enabled already", missing: "if not enabled yet: a child gets only what its parent enables" }],
};
