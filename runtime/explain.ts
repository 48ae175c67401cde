// `ctr explain`'s lines for every op, derived from the calls its executor makes on
// native/recording.ts's RecordingSys (PID 1's here, the host side's and stage 1's through
// runtime/explain-host.ts): nothing here says what an op calls, only how the calls are
// written (docs/ARCHITECTURE.md, "ctr explain").
//
// Each op of DERIVED runs alone on a fresh recorder, with the state the ops before it
// leave (the copy of the host's tree taken, the prepared root pending or entered), on a
// small tree: the host paths it names exist (as directories; the host's /dev nodes as
// devices), the prepared root and its mount points exist, a rootfs has its /etc files.
// The rendering rules:
//   - every argument is written, a trailing NULL too (ARITY), where the trace
//     (native/format.ts) drops them;
//   - a descriptor is named by the call that made it: HOST_TREE (open_tree of "/"),
//     SRC_FD (openat2 of a bind source), LAYER_FD("dir") (openat2 of an overlay layer),
//     TREE_FD (open_tree of a descriptor), FS_FD (fsopen), MNT_FD (fsmount), ROOT_FD
//     (openat2 of the root, runtime/features/mount/target.ts), TARGET_FD (a path inside it),
//     NODE_FD (a file in a new filesystem, opened from its MNT_FD: mount dev's nodes);
//   - container paths: mount, mount-dev, volume, readonly and mask resolve their targets inside the prepared root
//     until it is entered (runtime/features/mount/target.ts, atTarget); in their calls
//     a path R/P under that root R is written /P, and the rootfs op says once where R is;
//   - mkdirp is written `mkdir -p P`, a run of mkdir `mkdir A B`, a run of symlink
//     `symlink P -> T, ...`, netlink by the request it sends (the feature's CALL_TEXT);
//     a link's index, from the recorder's answer to RTM_GETLINK (answerLinks), `<index of NAME>`;
//     a failed call ends in ` = -1 ERRNO`; the ops of SPEC (rlimit, no_new_privs, cap,
//     seccomp, user, env, cwd) only add to the process spec: their lines are the steps
//     applySteps (features/process/spec.ts) takes for their part of it alone; `exec`, and a
//     `run` whose spec has steps (the exec stage's), the whole spec and the execve;
//     look-ups (exists, lstat, stat, fstat, readlink, readlinkat, readFile, readdir, capget), read and
//     close are left out;
//   - a branch that depends on the file system is found by running the op again in each
//     of its VARIANTS (the path absent; mknod refused, as in a user namespace; a rootfs
//     without the /etc files; the masked path a file): a line found in only one run says
//     when it happens (`# unless it exists`, left out of `mkdir -p`, whose -p says so;
//     `# in a user namespace`; `# if the rootfs has it`; `# if it is a file`). A variant
//     that stops where the base run goes on (a failed look-up) is written where it leaves it;
//   - the feature's notes (NOTES, kept in its folder) add comments: lines before the
//     calls, after them, a comment after the first line of a call, or after a line;
//   - the host side's and stage 1's ops (runtime/explain-host.ts) are written by the same
//     rules, and: a write of a kernel file `write PATH = VALUE` (the files of the cgroups
//     the op makes by their names), newuidmap and newgidmap as the command, stage 1's PID
//     STAGE1; their branches are the scenes of HOST_VARIANTS (rootless, setgroups denied,
//     v2 controllers enabled already);
//   - a run of prctl(PR_CAPBSET_DROP, CAP) is written `prctl(PR_CAPBSET_DROP, ...) for
//     CAP_A, CAP_B`; execve's environment by its names; ids looked up in the container's
//     /etc/passwd and /etc/group (features/security/user.ts lookupStandIns) `<uid of NAME>`.
// Every op kind is derived (DERIVATION, typed over the kinds): PID 1's through its executor,
// the process spec's through applySteps, the host's and stage 1's through theirs; the
// kinds that make no call of ctr's own through the seam (front ops, `show`, and a plain
// `run`, which Bun.spawn starts) have only their feature's comments. No line that is not
// a comment is written by hand.

import { posix } from "node:path";
import type { FakeNode, RecordedCall } from "../native/recording.ts";
import { RecordingSys } from "../native/recording.ts";
import { AT_FDCWD, FSCONFIG_SET_FD } from "../native/constants.ts";
import { formatArgs } from "../native/format.ts";
import { perform } from "./agent.ts";
import type { AgentState, Op } from "./ops.ts";
import { INIT_FILES } from "./ops.ts";
import { keepHostTree } from "./features/mount/hostmount.ts";
import { DEVICES, mountNotes } from "./features/mount/mount.ts";
import { nodeNotes } from "./features/devices/node.ts";
import { hostTreeNotes } from "./features/mount/hostmount.ts";
import { enterRootNotes, rootfsNotes } from "./features/rootfs/rootfs.ts";
import { linkNotes, NETLINK_TEXT } from "./features/net/link.ts";
import { answeredLink, answerAsIfLinked } from "./features/net/rtnl.ts";
import { maskNotes, readonlyNotes } from "./features/mount/protect.ts";
import { volumeNotes } from "./features/image/volume.ts";
import { applyStateSteps, execNotes, execStateSteps, runNeedsExecStage, specNotes } from "./features/process/spec.ts";
import { defaultCommand } from "./features/image/root.ts";
import { lookupStandIns } from "./features/security/user.ts";
import { HOST_DERIVERS, HOST_VARIANTS, STAGE1_PID, TARGET_PID, type HostScene } from "./explain-host.ts";
import { unshareNotes } from "./features/ns/unshare.ts";
import { joinNotes } from "./features/ns/join.ts";
import { sysctlFile, sysctlNotes } from "./features/sysctl/sysctl.ts";
import { idmapNotes } from "./features/userns/userns.ts";
import { netHostNotes } from "./features/net/host.ts";
import { cgroupNotes } from "./features/cgroup/explain.ts";
import { frontNotes } from "./features/front/statements.ts";
import { showNotes } from "./features/show/statements.ts";
import { runNotes } from "./features/process/process.ts";
import { ExecveCalled } from "../native/recording.ts";
import { callerEnvironment, initialEnv } from "./features/process/process.ts";
import { PR_CAPBSET_DROP } from "../native/constants.ts";
import type { OpKind } from "./ops.ts";
import { AF_INET, decode, RTM_GETADDR, RTM_GETROUTE, RTM_NAMES } from "./features/net/codec.ts";
import type { CgroupSystem } from "./features/cgroup/types.ts";

/**
 * How each op kind's lines are derived: "pid1" its executor (runtime/agent.ts), "spec" the
 * steps it adds to the process spec, "exec" the spec applied and execve, "host" the host
 * side's or stage 1's executor (runtime/explain-host.ts), "notes" none (no call of ctr's
 * own through the seam): its feature's comments only. Typed over the kinds: a new kind
 * without its derivation does not compile.
 */
export const DERIVATION: { [K in OpKind]: "pid1" | "spec" | "exec" | "host" | "notes" } = {
  unshare: "host", "host-tree": "pid1", hostname: "pid1", domainname: "pid1", "link-up": "pid1", mount: "pid1", "mount-dev": "pid1", "mount-cgroup": "pid1", "device-node": "pid1",
  readonly: "pid1", mask: "pid1", volume: "pid1", rootfs: "pid1", "enter-root": "pid1", env: "spec", cwd: "spec", rlimit: "spec",
  "no-new-privs": "spec", cap: "spec", seccomp: "spec", user: "spec", "show-security": "notes", run: "exec", exec: "exec", show: "notes",
  idmap: "host", "cgroup-limit": "host", "show-cgroup": "notes", echo: "notes", sleep: "notes", expect: "notes", "net-host": "host",
  "net-addr": "pid1", "net-route": "pid1", "show-net": "pid1", join: "host", sysctl: "pid1",
};

/** The op kinds whose explain lines are derived here: every one. */
export const DERIVED = new Set<Op["kind"]>(Object.keys(DERIVATION) as OpKind[]);

/** Ops that only add to the process spec: their lines are the spec's steps they add, applied alone. */
export const SPEC = new Set<Op["kind"]>((Object.keys(DERIVATION) as OpKind[]).filter((k) => DERIVATION[k] === "spec"));

/** The index the recorder gives every link (answerLinks); explain writes it `<index of NAME>`. */
export const LINK_INDEX = 7;

/** Make `sys` answer RTM_GETLINK as if the link were there (net-addr looks its link up). */
export function answerLinks(sys: RecordingSys): void {
  sys.on("netlink", (args) => answerAsIfLinked(args[1] as Uint8Array, LINK_INDEX));
}

/** A feature's comments on its op's derived lines. */
export interface ExplainNotes {
  /** Comment lines before the calls. */
  before?: string[];
  /** A comment after the first line of each call named here. */
  calls?: Record<string, string>;
  /** A comment after each line written so (before its other comments). */
  lines?: Record<string, string>;
  /** Comment lines after the calls. */
  after?: string[];
}

/** What the ops before this one left: the state the executor starts from. */
export interface ExplainContext {
  /** The prepared root, until it is entered. */
  root: { dir: string; mode: "pivot" | "chroot" } | null;
  entered: boolean;
  /** The whole plan (the host's ops read the other ops: every `map` line, the limits before). */
  ops: readonly Op[];
  /** PID 1's process-spec state so far (what `exec` applies). */
  spec: AgentState;
  /** The cgroups to explain a limit on, and the container's ID (tests: a fake tree); else this machine's. */
  cgroups?: { sys: CgroupSystem; id: string };
  /** The host's runs already made for this plan (runtime/explain-host.ts), and their lines. */
  runs?: Map<string, RecordedCall[]>;
}

/** The lines of a host run, rendered once. */
const rendered = new WeakMap<readonly RecordedCall[], Line[]>();

type NotesFn = (op: Op, ctx: ExplainContext, after: AgentState) => ExplainNotes;

const NOTES: Partial<Record<Op["kind"], NotesFn>> = {
  "host-tree": hostTreeNotes,
  mount: mountNotes,
  "mount-dev": mountNotes,
  "mount-cgroup": mountNotes,
  "device-node": nodeNotes,
  rootfs: rootfsNotes,
  "enter-root": enterRootNotes,
  "link-up": linkNotes,
  "net-addr": linkNotes,
  "net-route": linkNotes,
  rlimit: specNotes,
  "no-new-privs": specNotes,
  readonly: readonlyNotes,
  mask: maskNotes,
  volume: volumeNotes,
  env: specNotes,
  cwd: specNotes,
  cap: specNotes,
  seccomp: specNotes,
  user: specNotes,
  exec: execNotes,
  unshare: unshareNotes,
  idmap: idmapNotes,
  "net-host": netHostNotes,
  "cgroup-limit": cgroupNotes,
  echo: frontNotes,
  sleep: frontNotes,
  expect: frontNotes,
  show: showNotes,
  "show-security": showNotes,
  "show-cgroup": cgroupNotes,
  "show-net": showNotes,
  run: runNotes,
  join: joinNotes,
  sysctl: sysctlNotes,
};

/** A way the file system can differ, and what a line found only then (or only without it) says. */
interface Variant {
  scene: Partial<Scene> & HostScene;
  only: string;
  missing: string;
}

interface Scene {
  /** The mount point is not there yet. */
  absent: boolean;
  /** mknod fails with EPERM, as in a user namespace. */
  userns: boolean;
  /** The rootfs has no /etc/hostname, hosts, resolv.conf. */
  bare: boolean;
  /** The path `mask` hides is a file, not a directory. */
  file: boolean;
}

const ABSENT: Variant = { scene: { absent: true }, only: "unless it exists", missing: "if it exists" };
const VARIANTS: Partial<Record<Op["kind"], Variant[]>> = {
  mount: [ABSENT],
  "mount-cgroup": [ABSENT],
  "mount-dev": [ABSENT, { scene: { userns: true }, only: "in a user namespace", missing: "unless in a user namespace" }],
  "device-node": [ABSENT, { scene: { userns: true }, only: "in a user namespace", missing: "unless in a user namespace" }],
  rootfs: [{ scene: { bare: true }, only: "unless the rootfs has it", missing: "if the rootfs has it" }],
  volume: [ABSENT],
  readonly: [ABSENT],
  mask: [ABSENT, { scene: { file: true }, only: "if it is a file", missing: "if it is a directory" }],
};

/** The ops that resolve container paths inside the prepared root until it is entered. */
const IN_ROOT = new Set<Op["kind"]>(["mount", "mount-dev", "mount-cgroup", "device-node", "volume", "readonly", "mask"]);

/** Each call's C arity: the line writes every argument (the recorder keeps them in order). */
const ARITY: Record<string, number> = { setrlimit: 2, unshare: 1, bpf: 2, mount_setattr: 5, mount: 5, umount2: 2, open_tree: 3, move_mount: 5, fsopen: 2, fsconfig: 5, fsmount: 3, openat2: 4, mknod: 3 };

/** Which arguments of a call are descriptors (named by the call that made them). */
const FD_ARGS: Record<string, number[]> = { open_tree: [0], move_mount: [0, 2], fsconfig: [0, 4], fsmount: [0], openat2: [0], mount_setattr: [0], mkdirat: [0], mknodat: [0], symlinkat: [1], fchmodat: [0], fchownat: [0], openat: [0], write: [0], setns: [0], fchdir: [0] };

const HIDDEN = new Set(["exists", "lstat", "stat", "fstat", "readlink", "readlinkat", "read", "close", "readFile", "readdir", "pread", "capget"]);

/** Calls written by what they carry rather than as name(args). */
const CALL_TEXT: Record<string, (args: readonly unknown[], links: Map<number, string>) => string> = {
  netlink: (args, links) => NETLINK_TEXT(args, (i) => links.get(i)),
  "netlink-dump": (args) => dumpText(args[1] as Uint8Array),
  newuidmap: (args) => `newuidmap ${args.join(" ")}`,
  newgidmap: (args) => `newgidmap ${args.join(" ")}`,
  execve: (args) => `execve(${JSON.stringify(args[0])}, ${JSON.stringify(args[1])}, {${envNames(args[2] as string[]).join(", ")}})`,
};

/** A dump request: its type, an address family where it has one, NLM_F_DUMP. */
export function dumpText(request: Uint8Array): string {
  const m = decode(request)[0];
  if (!m) return "netlink(empty request)";
  const family = m.type === RTM_GETADDR || m.type === RTM_GETROUTE ? ` family=${m.payload[0] === AF_INET ? "AF_INET" : m.payload[0]}` : "";
  return `${RTM_NAMES[m.type] ?? m.type}${family} (NLM_F_REQUEST|NLM_F_DUMP)`;
}

/** execve's environment by its names; all of ctr's own (a plain child process, `ns none`) is "the caller's environment". */
export function envNames(envp: readonly string[]): string[] {
  const caller = callerEnvironment();
  const env = new Map(envp.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  const all = Object.keys(caller).length > 0 && Object.entries(caller).every(([k, v]) => env.get(k) === v);
  return all ? ["the caller's environment", ...[...env.keys()].filter((k) => caller[k] !== env.get(k))] : [...env.keys()];
}

/** The explain lines of each op of `ops`, in order, each derived from its executor (DERIVATION). */
export function explainOps(ops: readonly Op[]): string[][] {
  const ctx: ExplainContext = { root: null, entered: false, ops, spec: specState(ops), runs: new Map() };
  return ops.map((op) => {
    const lines = deriveOp(op, ctx);
    if (op.kind === "rootfs") {
      ctx.root = { dir: op.overlay ? op.overlay.merged : op.dir, mode: op.mode };
      if (op.image) ctx.spec.imageCommand = op.image.command;
    }
    if (op.kind === "enter-root") {
      ctx.root = null;
      ctx.entered = true;
    }
    // The spec's state for a later `exec`: the op's executor on a scratch state.
    if (SPEC.has(op.kind)) Object.assign(ctx.spec, stateAfter(ctx.spec, op));
    return lines;
  });
}

function specState(ops: readonly Op[]): AgentState {
  const unshare = ops.find((o) => o.kind === "unshare");
  const env = unshare?.kind === "unshare" && unshare.namespaces.length === 0 ? callerEnvironment() : initialEnv();
  return { sys: new RecordingSys({}), pendingRoot: null, rootMode: null, entered: false, env, cwd: "/" };
}

function stateAfter(st: AgentState, op: Op): AgentState {
  const next: AgentState = { ...st, env: { ...st.env }, sys: new RecordingSys({}) };
  perform(next, op);
  return { ...next, sys: st.sys };
}

/** The lines of one op after the ops that left `ctx`. */
export function deriveOp(op: Op, ctx: ExplainContext): string[] {
  const how = DERIVATION[op.kind];
  const notes = () => NOTES[op.kind]?.(op, ctx, ctx.spec) ?? {};
  // A `run` without spec steps is Bun.spawn's alone (outside the seam): its comments only.
  if (how === "notes" || (op.kind === "run" && !runNeedsExecStage(ctx.spec, lookupStandIns(ctx.spec.user).read))) {
    const n = notes();
    return [...(n.before ?? []), ...(n.after ?? [])].map((l) => `# ${l}`);
  }
  const base = record(op, ctx, {});
  if ("error" in base) return [`# ${op.side === "pid1" ? "PID 1" : "ctr"} would stop here: ${base.error}`];
  const hostVariants = HOST_VARIANTS[op.kind] ?? [];
  const errors: string[] = [];
  const variants = [...(VARIANTS[op.kind] ?? []), ...hostVariants].flatMap((v) => {
    const r = record(op, ctx, v.scene);
    if ("error" in r) {
      if ("sayError" in v && v.sayError && r.error.includes(`${op.kind === "idmap" ? op.which : ""}`)) errors.push(`# ${v.only}: ctr would stop here: ${r.error}`);
      return [];
    }
    return [{ v, lines: r.lines }];
  });
  const out = mergeRuns(base.lines, variants);
  const n = NOTES[op.kind]?.(op, ctx, base.after) ?? {};
  const noted = new Set<string>();
  const lines = out.map(({ text, call, why }) => {
    const note = n.calls?.[call];
    const all = [...(n.lines?.[text] ? [n.lines[text]!] : []), ...(note && !noted.has(call) ? [note] : []), ...why];
    if (note) noted.add(call);
    return all.length ? `${text}  # ${all.join("; ")}` : text;
  });
  return [...(n.before ?? []).map((l) => `# ${l}`), ...lines, ...errors, ...(n.after ?? []).map((l) => `# ${l}`)];
}

interface Line {
  text: string;
  /** The call the line writes. */
  call: string;
}

/** Run `op` alone on a fresh recorder in `scene`; its lines, or why it failed. */
function record(op: Op, ctx: ExplainContext, scene: Partial<Scene> & HostScene): { lines: Line[]; after: AgentState } | { error: string } {
  const how = DERIVATION[op.kind];
  if (how === "host") {
    try {
      const run = HOST_DERIVERS[op.kind as keyof typeof HOST_DERIVERS](op, ctx, scene);
      const lines0 = (calls: readonly RecordedCall[]) => {
        let r = rendered.get(calls);
        if (!r) rendered.set(calls, (r = render(calls, 0, null, op)));
        return r;
      };
      let lines = lines0(run.calls);
      if (run.within) {
        // The session's calls that this op adds to those of the ops before it (a cgroup's
        // mkdir, the join of a hierarchy it is the first to need): a multiset difference.
        const added = lines0(run.within.cur).map((l) => l.text);
        for (const t of lines0(run.within.prev)) {
          const at = added.indexOf(t.text);
          if (at >= 0) added.splice(at, 1);
        }
        lines = lines.filter((l) => {
          const at = added.indexOf(l.text);
          if (at >= 0) added.splice(at, 1);
          return at >= 0;
        });
      }
      return { lines: byName(lines), after: ctx.spec };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }
  const sys = new RecordingSys(sceneFiles(op, ctx, scene));
  if (op.kind === "mount-cgroup") cgroupStandIn(sys);
  if (scene.userns) sys.fail("mknodat", "EPERM");
  answerLinks(sys);
  const base: AgentState = { sys, pendingRoot: ctx.root?.dir ?? null, rootMode: ctx.root?.mode ?? null, entered: ctx.entered, env: {}, cwd: "/" };
  const st: AgentState = how === "exec" ? { ...ctx.spec, ...base, env: ctx.spec.env, cwd: ctx.spec.cwd } : base;
  // `cap` changes the capabilities the lines before it left (capChange): its step is theirs changed.
  if (op.kind === "cap") st.caps = ctx.spec.caps;
  // The planner puts host-tree before the first mount: the copy exists for every later one.
  if (op.kind === "mount" || op.kind === "mount-dev" || op.kind === "mount-cgroup" || op.kind === "device-node" || op.kind === "volume" || op.kind === "mask") keepHostTree(st);
  const from = sys.calls.length;
  try {
    if (how === "exec" && (op.kind === "exec" || op.kind === "run")) execStateSteps(st, defaultCommand(st, op.argv), sys, lookupStandIns(st.user).read);
    else {
      perform(st, op);
      if (how === "spec") applyStateSteps(st, sys, lookupStandIns(st.user).read);
    }
  } catch (e) {
    if (!(e instanceof ExecveCalled)) return { error: e instanceof Error ? e.message : String(e) };
  }
  const shownRoot = IN_ROOT.has(op.kind) && ctx.root ? ctx.root.dir : null;
  return { lines: render(sys.calls, from, shownRoot, op, lookupStandIns(st.user).names), after: st };
}

/**
 * `mount cgroup` reads the host's mount table and PID 1's cgroups: a stand-in
 * v1 machine (memory and pids hierarchies), PID 1 in CGROUP of each.
 */
export function cgroupStandIn(sys: RecordingSys): void {
  const hierarchies = ["memory", "pids"];
  sys.text("/proc/self/mountinfo", hierarchies.map((h, i) => `${30 + i} 25 0:${30 + i} / /sys/fs/cgroup/${h} rw,nosuid,nodev,noexec,relatime shared:${10 + i} - cgroup cgroup rw,${h}`).join("\n") + "\n");
  sys.text("/proc/self/cgroup", hierarchies.map((h, i) => `${i + 1}:${h}:/CGROUP`).join("\n") + "\n");
  for (const h of hierarchies) sys.add(`/sys/fs/cgroup/${h}/CGROUP`, "dir");
}

/** The tree an op runs on (see the header). */
function sceneFiles(op: Op, ctx: ExplainContext, scene: Partial<Scene>): Record<string, FakeNode> {
  const files: Record<string, FakeNode> = {};
  for (const [name] of DEVICES) files[`/dev/${name}`] = "dev";
  const root = ctx.root?.dir ?? "";
  if (root) files[root] = "dir";
  const mountPoint = (target: string) => {
    if (!scene.absent) files[root + (target.startsWith("/") ? target : `/${target}`)] = "dir";
  };
  if (op.kind === "mount") {
    const m = op.mount;
    if (m.source && m.source.startsWith("/")) files[m.source] = "dir";
    for (const d of [...(m.layers?.lower ?? []), m.layers?.upper, m.layers?.work]) if (d) files[d] = "dir";
    mountPoint(m.target);
  }
  if (op.kind === "mount-dev") mountPoint(op.target);
  if (op.kind === "mount-cgroup") mountPoint(op.target);
  // device-node: its parent directory in the root, and the host's node a user namespace binds.
  if (op.kind === "device-node") {
    if (scene.userns) files[posix.resolve("/", op.path)] = "dev";
    mountPoint(posix.dirname(posix.resolve("/", op.path)));
  }
  if (op.kind === "volume") {
    files[op.from] = "dir";
    mountPoint(op.target);
  }
  if ((op.kind === "readonly" || op.kind === "mask") && !scene.absent) {
    const path = posix.resolve("/", op.path);
    if (path !== "/") files[root + path] = scene.file ? "file" : "dir";
  }
  // sysctl's keys, in the private proc it makes (the recorder names an fsmount's files /fs:TYPE/...)
  if (op.kind === "sysctl") for (const [key] of op.values) files[`/fs:proc/${sysctlFile(key)}`] = "file";
  if (op.kind === "rootfs") {
    const layer = op.overlay ? op.overlay.lower : op.dir;
    files[layer] = "dir";
    if (op.overlay) files[op.overlay.scratch] = files[op.overlay.merged] = "dir";
    if (!scene.bare) for (const f of INIT_FILES) files[`${layer}/etc/${f}`] = "file";
  }
  return files;
}

/** The files of the cgroups an op's lines make, written by their names (a name written in two of them: in full). */
function byName(lines: Line[]): Line[] {
  const made = new Set(lines.filter((l) => l.call === "mkdir").map((l) => l.text.slice(6)));
  const split = (l: Line) => {
    const m = /^write (.*)\/([^/ ]+) = /.exec(l.text);
    return m && made.has(m[1]!) ? { dir: m[1]!, file: m[2]! } : null;
  };
  const count = new Map<string, number>();
  for (const l of lines) {
    const s = split(l);
    if (s) count.set(s.file, (count.get(s.file) ?? 0) + 1);
  }
  return lines.map((l) => {
    const s = split(l);
    return s && count.get(s.file) === 1 ? { ...l, text: `write ${l.text.slice(6 + s.dir.length + 1)}` } : l;
  });
}

/** A kernel file's value as a write line gives it: trimmed, quoted when it has spaces, is empty or starts with + or - (cgroup.subtree_control). */
export function writtenValue(text: string): string {
  const v = text.trim();
  return v === "" || /\s|^[+-]/.test(v) ? JSON.stringify(v) : v;
}

/** The lines of `calls` from `from` on (the earlier ones only name descriptors). */
function render(calls: readonly RecordedCall[], from: number, root: string | null, op: Op, standIns: Map<number, string> = new Map()): Line[] {
  const names = new Map<number, string>();
  const links = new Map<number, string>();
  const out: Line[] = [];
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    if (typeof c.result === "number") names.set(c.result, fdName(c, op, names));
    const link = c.name === "netlink" ? answeredLink(c.result) : null;
    if (link) links.set(link.index, link.name);
    if (i < from || HIDDEN.has(c.name)) continue;
    const args = root ? c.args.map((a) => (typeof a === "string" ? shownPath(a, root) : a)) : c.args;
    const prev = out.at(-1);
    if (c.name === "mkdir" && prev?.call === "mkdir" && !c.error && op.side === "pid1") {
      prev.text += ` ${args[0]}`;
      continue;
    }
    if (c.name === "symlink" && prev?.call === "symlink" && !c.error) {
      prev.text += `, ${args[1]} -> ${args[0]}`;
      continue;
    }
    const capDrop = c.name === "prctl" && args[0] === PR_CAPBSET_DROP && !c.error;
    if (capDrop && prev?.call === "prctl-capbset-drop") {
      prev.text = prev.text.replace(/^prctl\(PR_CAPBSET_DROP, (CAP_\w+)\)$/, "prctl(PR_CAPBSET_DROP, ...) for $1") + `, ${formatArgs("prctl", args)[1]}`;
      continue;
    }
    let text: string;
    if (c.name === "mkdirp") text = `mkdir -p ${args[0]}`;
    else if (c.name === "mkdir") text = `mkdir ${args[0]}`;
    else if (c.name === "symlink") text = `symlink ${args[1]} -> ${args[0]}`;
    else if (c.name === "write" && typeof args[0] === "string") text = `write ${args[0]} = ${writtenValue(String(args[1]))}`;
    else if (CALL_TEXT[c.name]) text = CALL_TEXT[c.name]!(args, links);
    else text = `${c.name}(${callArgs(c.name, args, names).join(", ")})`;
    if (c.error) text += ` = -1 ${c.error}`;
    text = text.replaceAll(String(STAGE1_PID), "STAGE1").replaceAll(String(TARGET_PID), "TARGET");
    for (const [id, name] of standIns) text = text.replaceAll(String(id), name);
    out.push({ text, call: capDrop ? "prctl-capbset-drop" : c.name });
  }
  return out;
}

function callArgs(name: string, args: readonly unknown[], names: Map<number, string>): string[] {
  const shown = formatArgs(name, args);
  // setrlimit's two limits, and bpf's attributes, are one struct argument.
  while (shown.length < (ARITY[name] ?? args.length)) shown.push("NULL");
  for (const i of FD_ARGS[name] ?? []) {
    const fd = args[i];
    if (typeof fd === "number" && names.has(fd) && !(name === "fsconfig" && i === 4 && args[1] !== FSCONFIG_SET_FD)) shown[i] = names.get(fd)!;
  }
  // bpf's descriptors are inside its attribute struct.
  if (name === "bpf") return shown.map((s) => s.replace(/(target_fd|attach_bpf_fd)=(\d+)/g, (m, k, n) => (names.has(Number(n)) ? `${k}=${names.get(Number(n))}` : m)));
  return shown;
}

/** A descriptor's name: the call that made it. */
function fdName(c: RecordedCall, op: Op, names: Map<number, string>): string {
  switch (c.name) {
    case "open_tree":
      return c.args[0] === AT_FDCWD && c.args[1] === "/" ? "HOST_TREE" : "TREE_FD";
    case "openat2":
      // A device policy's cgroup (features/devices/cgroup.ts).
      if (op.kind === "cgroup-limit") return "CGROUP_FD";
      // The container's root (runtime/features/mount/target.ts), then a path resolved inside it.
      if (c.args[0] === AT_FDCWD) return "ROOT_FD";
      if (names.get(c.args[0] as number) === "ROOT_FD") return "TARGET_FD";
      if (names.get(c.args[0] as number) === "MNT_FD") return "NODE_FD"; // a file in a new filesystem (mount dev)
      return op.kind === "mount" && op.mount.layers ? `LAYER_FD(${JSON.stringify(String(c.args[1]).replace(/^\.(?=\/)/, ""))})` : "SRC_FD";
    case "fsopen":
      return "FS_FD";
    case "fsmount":
      return "MNT_FD";
    case "bpf":
      return "PROG_FD";
    case "openat":
      return "FILE_FD"; // a file opened from a descriptor (sysctl's keys)
    case "open": {
      // `join`: the target's namespaces and root (features/ns/joined.ts)
      const m = /\/ns\/(\w+)$/.exec(String(c.args[0]));
      if (m) return `${m[1]!.toUpperCase()}_NS_FD`;
      if (/\/root$/.test(String(c.args[0]))) return "TARGET_ROOT_FD";
      break;
    }
  }
  return `FD${c.result}`;
}

/** A path under the prepared root, as the container will see it. */
function shownPath(path: string, root: string): string {
  if (path === root) return "/";
  return path.startsWith(root + "/") ? path.slice(root.length) : path;
}

interface Merged extends Line {
  /** When the line happens, if not in every run. */
  why: string[];
}

/**
 * The base run's lines with each variant's own inserted where they fall (a longest
 * common subsequence of the texts): a line found only in a variant says `only`, a base
 * line the variant lacks says `missing`.
 */
function mergeRuns(base: Line[], variants: { v: Variant; lines: Line[] }[]): Merged[] {
  const before: Merged[][] = base.map(() => []);
  const tail: Merged[] = [];
  const why: string[][] = base.map(() => []);
  for (const { v, lines } of variants) {
    const pairs = lcs(base.map((l) => l.text), lines.map((l) => l.text));
    let bi = 0;
    let vi = 0;
    for (const [pb, pv] of [...pairs, [base.length, lines.length] as const]) {
      // A variant that ends where the base goes on (a look-up that fails) is written at the point it leaves the base.
      const at = pb === base.length && bi < base.length && vi < pv ? bi : pb;
      for (; bi < pb; bi++) why[bi]!.push(v.missing);
      for (; vi < pv; vi++) {
        const l = lines[vi]!;
        const only = v === ABSENT && l.call === "mkdirp" ? [] : [v.only];
        (at < base.length ? before[at]! : tail).push({ ...l, why: only });
      }
      bi = pb + 1;
      vi = pv + 1;
    }
  }
  return [...base.flatMap((l, i) => [...before[i]!, { ...l, why: why[i]! }]), ...tail];
}

/** Index pairs of a longest common subsequence of `a` and `b`. */
function lcs(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const t: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
  const out: [number, number][] = [];
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i++;
      j++;
    } else if (t[i + 1]![j]! >= t[i]![j + 1]!) i++;
    else j++;
  }
  return out;
}
