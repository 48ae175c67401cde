// `ctr explain`'s lines for the ops PID 1 performs through the syscall seam, derived from
// the calls their executors make on native/recording.ts's RecordingSys: nothing here says
// what an op calls, only how the calls are written (docs/ARCHITECTURE.md, "ctr explain").
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
//     a failed call ends in ` = -1 ERRNO`; the ops of SPEC (rlimit, no_new_privs) only add to
//     the process spec: their lines are the steps applySteps (features/process/spec.ts) takes for them; look-ups (exists, lstat, stat, fstat,
//     readlink, readlinkat), read and close are left out;
//   - a branch that depends on the file system is found by running the op again in each
//     of its VARIANTS (the path absent; mknod refused, as in a user namespace; a rootfs
//     without the /etc files; the masked path a file): a line found in only one run says
//     when it happens (`# unless it exists`, left out of `mkdir -p`, whose -p says so;
//     `# in a user namespace`; `# if the rootfs has it`; `# if it is a file`). A variant
//     that stops where the base run goes on (a failed look-up) is written where it leaves it;
//   - the feature's notes (NOTES, kept in its folder) add comments: lines before the
//     calls, after them, and a comment after the first line of a call.
// Other ops keep the lines their statement plans (op.explain).

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
import { hostTreeNotes } from "./features/mount/hostmount.ts";
import { enterRootNotes, rootfsNotes } from "./features/rootfs/rootfs.ts";
import { linkNotes, NETLINK_TEXT } from "./features/net/link.ts";
import { answeredLink, answerAsIfLinked } from "./features/net/rtnl.ts";
import { maskNotes, readonlyNotes } from "./features/mount/protect.ts";
import { volumeNotes } from "./features/image/volume.ts";
import { applyStateSteps, specNotes } from "./features/process/spec.ts";

/** The op kinds whose explain lines are derived here. */
export const DERIVED = new Set<Op["kind"]>(["host-tree", "hostname", "domainname", "mount", "mount-dev", "rootfs", "enter-root", "link-up", "readonly", "mask", "volume", "net-addr", "net-route", "rlimit", "no-new-privs"]);

/** Ops that only add to the process spec: their lines are the spec's steps they add, applied alone. */
export const SPEC = new Set<Op["kind"]>(["rlimit", "no-new-privs"]);

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
  /** Comment lines after the calls. */
  after?: string[];
}

/** What the ops before this one left: the state the executor starts from. */
export interface ExplainContext {
  /** The prepared root, until it is entered. */
  root: { dir: string; mode: "pivot" | "chroot" } | null;
  entered: boolean;
}

type NotesFn = (op: Op, ctx: ExplainContext, after: AgentState) => ExplainNotes;

const NOTES: Partial<Record<Op["kind"], NotesFn>> = {
  "host-tree": hostTreeNotes,
  mount: mountNotes,
  "mount-dev": mountNotes,
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
};

/** A way the file system can differ, and what a line found only then (or only without it) says. */
interface Variant {
  scene: Partial<Scene>;
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
  "mount-dev": [ABSENT, { scene: { userns: true }, only: "in a user namespace", missing: "unless in a user namespace" }],
  rootfs: [{ scene: { bare: true }, only: "unless the rootfs has it", missing: "if the rootfs has it" }],
  volume: [ABSENT],
  readonly: [ABSENT],
  mask: [ABSENT, { scene: { file: true }, only: "if it is a file", missing: "if it is a directory" }],
};

/** The ops that resolve container paths inside the prepared root until it is entered. */
const IN_ROOT = new Set<Op["kind"]>(["mount", "mount-dev", "volume", "readonly", "mask"]);

/** Each call's C arity: the line writes every argument (the recorder keeps them in order). */
const ARITY: Record<string, number> = { setrlimit: 2, mount_setattr: 5, mount: 5, umount2: 2, open_tree: 3, move_mount: 5, fsopen: 2, fsconfig: 5, fsmount: 3, openat2: 4, mknod: 3 };

/** Which arguments of a call are descriptors (named by the call that made them). */
const FD_ARGS: Record<string, number[]> = { open_tree: [0], move_mount: [0, 2], fsconfig: [0, 4], fsmount: [0], openat2: [0], mount_setattr: [0], mkdirat: [0], mknodat: [0], symlinkat: [1], fchmodat: [0], openat: [0] };

const HIDDEN = new Set(["exists", "lstat", "stat", "fstat", "readlink", "readlinkat", "read", "close"]);

/** Calls written by what they carry rather than as name(args). */
const CALL_TEXT: Record<string, (args: readonly unknown[], links: Map<number, string>) => string> = { netlink: (args, links) => NETLINK_TEXT(args, (i) => links.get(i)) };

/** The explain lines of each op of `ops`, in order: derived for DERIVED, as planned for the rest. */
export function explainOps(ops: readonly Op[]): string[][] {
  const ctx: ExplainContext = { root: null, entered: false };
  return ops.map((op) => {
    if (!DERIVED.has(op.kind) || op.side !== "pid1") return op.explain;
    const lines = deriveOp(op, ctx);
    if (op.kind === "rootfs") ctx.root = { dir: op.overlay ? op.overlay.merged : op.dir, mode: op.mode };
    if (op.kind === "enter-root") {
      ctx.root = null;
      ctx.entered = true;
    }
    return lines;
  });
}

/** The lines of one op after the ops that left `ctx`. */
export function deriveOp(op: Op, ctx: ExplainContext): string[] {
  const base = record(op, ctx, {});
  if ("error" in base) return [`# PID 1 would stop here: ${base.error}`];
  const variants = (VARIANTS[op.kind] ?? []).flatMap((v) => {
    const r = record(op, ctx, v.scene);
    return "error" in r ? [] : [{ v, lines: r.lines }];
  });
  const out = mergeRuns(base.lines, variants);
  const notes = NOTES[op.kind]?.(op, ctx, base.after) ?? {};
  const noted = new Set<string>();
  const lines = out.map(({ text, call, why }) => {
    const note = notes.calls?.[call];
    const all = [...(note && !noted.has(call) ? [note] : []), ...why];
    if (note) noted.add(call);
    return all.length ? `${text}  # ${all.join("; ")}` : text;
  });
  return [...(notes.before ?? []).map((l) => `# ${l}`), ...lines, ...(notes.after ?? []).map((l) => `# ${l}`)];
}

interface Line {
  text: string;
  /** The call the line writes. */
  call: string;
}

/** Run `op` alone on a fresh recorder in `scene`; its lines, or why it failed. */
function record(op: Op, ctx: ExplainContext, scene: Partial<Scene>): { lines: Line[]; after: AgentState } | { error: string } {
  const sys = new RecordingSys(sceneFiles(op, ctx, scene));
  if (scene.userns) sys.fail("mknodat", "EPERM");
  answerLinks(sys);
  const st: AgentState = { sys, pendingRoot: ctx.root?.dir ?? null, rootMode: ctx.root?.mode ?? null, entered: ctx.entered, env: {}, cwd: "/" };
  // The planner puts host-tree before the first mount: the copy exists for every later one.
  if (op.kind === "mount" || op.kind === "mount-dev" || op.kind === "volume" || op.kind === "mask") keepHostTree(st);
  const from = sys.calls.length;
  try {
    perform(st, op);
    if (SPEC.has(op.kind)) applyStateSteps(st, sys);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  const shownRoot = IN_ROOT.has(op.kind) && ctx.root ? ctx.root.dir : null;
  return { lines: render(sys.calls, from, shownRoot, op), after: st };
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
  if (op.kind === "volume") {
    files[op.from] = "dir";
    mountPoint(op.target);
  }
  if ((op.kind === "readonly" || op.kind === "mask") && !scene.absent) {
    const path = posix.resolve("/", op.path);
    if (path !== "/") files[root + path] = scene.file ? "file" : "dir";
  }
  if (op.kind === "rootfs") {
    const layer = op.overlay ? op.overlay.lower : op.dir;
    files[layer] = "dir";
    if (op.overlay) files[op.overlay.scratch] = files[op.overlay.merged] = "dir";
    if (!scene.bare) for (const f of INIT_FILES) files[`${layer}/etc/${f}`] = "file";
  }
  return files;
}

/** The lines of `calls` from `from` on (the earlier ones only name descriptors). */
function render(calls: readonly RecordedCall[], from: number, root: string | null, op: Op): Line[] {
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
    if (c.name === "mkdir" && prev?.call === "mkdir" && !c.error) {
      prev.text += ` ${args[0]}`;
      continue;
    }
    if (c.name === "symlink" && prev?.call === "symlink" && !c.error) {
      prev.text += `, ${args[1]} -> ${args[0]}`;
      continue;
    }
    let text: string;
    if (c.name === "mkdirp") text = `mkdir -p ${args[0]}`;
    else if (c.name === "mkdir") text = `mkdir ${args[0]}`;
    else if (c.name === "symlink") text = `symlink ${args[1]} -> ${args[0]}`;
    else if (CALL_TEXT[c.name]) text = CALL_TEXT[c.name]!(args, links);
    else text = `${c.name}(${callArgs(c.name, args, names).join(", ")})`;
    if (c.error) text += ` = -1 ${c.error}`;
    out.push({ text, call: c.name });
  }
  return out;
}

function callArgs(name: string, args: readonly unknown[], names: Map<number, string>): string[] {
  const shown = formatArgs(name, args);
  // setrlimit's two limits are one struct argument.
  while (shown.length < (ARITY[name] ?? args.length)) shown.push("NULL");
  for (const i of FD_ARGS[name] ?? []) {
    const fd = args[i];
    if (typeof fd === "number" && names.has(fd) && !(name === "fsconfig" && i === 4 && args[1] !== FSCONFIG_SET_FD)) shown[i] = names.get(fd)!;
  }
  return shown;
}

/** A descriptor's name: the call that made it. */
function fdName(c: RecordedCall, op: Op, names: Map<number, string>): string {
  switch (c.name) {
    case "open_tree":
      return c.args[0] === AT_FDCWD && c.args[1] === "/" ? "HOST_TREE" : "TREE_FD";
    case "openat2":
      // The container's root (runtime/features/mount/target.ts), then a path resolved inside it.
      if (c.args[0] === AT_FDCWD) return "ROOT_FD";
      if (names.get(c.args[0] as number) === "ROOT_FD") return "TARGET_FD";
      if (names.get(c.args[0] as number) === "MNT_FD") return "NODE_FD"; // a file in a new filesystem (mount dev)
      return op.kind === "mount" && op.mount.layers ? `LAYER_FD(${JSON.stringify(String(c.args[1]).replace(/^\.(?=\/)/, ""))})` : "SRC_FD";
    case "fsopen":
      return "FS_FD";
    case "fsmount":
      return "MNT_FD";
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
