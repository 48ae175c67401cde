// Operations: what a checked script compiles to before anything runs.
//
// Like bubblewrap's setup ops, a plan is an ordered list of small, serialisable
// steps. Each knows the side that performs it:
//   front   - the ctr process, no kernel effect (echo, expect, sleep, printing)
//   host    - the ctr process acting on the host (cgroups, id maps; later issues)
//   creator - stage 1, the process that unshares the namespaces
//   pid1    - stage 2, PID 1 inside the container (mounts, rootfs, hostname, exec)
// Ops are plain JSON: pid1 ops travel over the control socket to stage 2.

import type { NsName, Side, Span } from "../lang/spec.ts";
import type { IdMapLine } from "./features/userns/userns.ts";
import type { CgroupLimit } from "./features/cgroup/types.ts";
import type { Sys } from "../native/seam.ts";
import type { CapSetting } from "./features/security/caps.ts";
import type { Profile } from "./features/security/profile.ts";
import type { UserSetting } from "./features/security/user.ts";
import type { HostLinkSpec } from "./features/net/host.ts";
import type { Cidr } from "./features/net/rtnl.ts";

export interface MountSpec {
  source: string | null;
  target: string;
  fstype: string | null;
  flags: number;
  data: string | null;
  /** An overlay's layers, host directories (PID 1 hands them to the kernel as descriptors). */
  layers?: { lower: string[]; upper?: string; work?: string };
}

/** Where the writable layer of `rootfs default` lives (all host paths). */
export interface OverlayDirs {
  /** The read-only lower layer (the cached default rootfs). */
  lower: string;
  /** An empty directory where PID 1 mounts a tmpfs for upper/ and work/. */
  scratch: string;
  /** An empty directory where the merged view is mounted. */
  merged: string;
}

/** `rootfs image`: an image's layers and defaults, and the container's own upper layer (runtime/features/image/root.ts). */
export interface ImageRoot {
  /** The name the script gave, and the image ID. */
  image: string;
  id: string;
  /** Host directories of the layers, the top one first (as in lowerdir=TOP:...:BOTTOM). */
  layers: string[];
  upper: string;
  work: string;
  /** The upper layer outlives the container. */
  keep: boolean;
  env: Record<string, string>;
  cwd?: string;
  /** Entrypoint + Cmd, for `exec default`. */
  command: string[];
  /** The layers' opaque marks are user.overlay.* (imported rootless): mount with `userxattr`. */
  userxattr?: boolean;
  /** The config's User (not root), the default when the script has set no `user`. */
  user?: UserSetting;
}

/** The Docker-style files bound from the per-container directory into /etc (chapter 06). */
export const INIT_FILES = ["hostname", "hosts", "resolv.conf"] as const;

/**
 * The /etc/hosts of a container whose hostname is `name`, as Docker writes it:
 * the per-container file (runtime/statedir.ts) and a built rootfs's placeholder
 * (runtime/features/rootfs/build.ts) are the same text.
 */
export function hostsText(name: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${name}\n`;
}

/** Docker-style per-container files bound over the rootfs's own (chapter 06). */
export interface InitFiles {
  /** Host directory holding hostname, hosts and resolv.conf. */
  dir: string;
}

export type { IdMapLine };

/** Each side's short name, as `ctr explain` and the REPL's `:explain` tag an op with it. */
export const SIDE_NAME: Record<Side, string> = { front: "ctr", host: "host", creator: "stage 1", pid1: "PID 1" };

/** Each side said in full, for the language reference. */
export const SIDE_ROLE: Record<Side, string> = {
  front: "ctr itself (no kernel effect)",
  host: "the host side (the ctr process)",
  creator: "stage 1 (the process that creates the namespaces)",
  pid1: "PID 1 inside the container",
};

export type OpBody =
  /** `paths`: namespaces of these joined by path instead (an OCI config's, runtime/features/oci/config.ts). */
  | { kind: "unshare"; namespaces: NsName[]; paths?: { ns: NsName; path: string }[] }
  /** `join NAME NS...`: stage 1 enters these namespaces of the running container NAME before it unshares the rest (runtime/features/ns/join.ts). */
  | { kind: "join"; name: string; namespaces: NsName[] }
  /** PID 1 keeps a copy of the host's mount tree (runtime/features/mount/hostmount.ts). */
  | { kind: "host-tree" }
  | { kind: "hostname"; name: string }
  | { kind: "domainname"; name: string }
  /** Set or clear IFF_UP on a link of the container's network namespace (runtime/features/net/link.ts). */
  | { kind: "link-up"; name: string; up: boolean }
  | { kind: "mount"; what: string; mount: MountSpec; remountRo: boolean }
  | { kind: "mount-dev"; target: string; ro: boolean; strictatime?: boolean }
  /** `device node`: a device node or FIFO at `path` in the container (runtime/features/devices/node.ts); major and minor 0 for a FIFO. */
  | { kind: "device-node"; path: string; type: "c" | "b" | "p"; major: number; minor: number; mode: number; uid: number; gid: number }
  /** `mount cgroup`: the container's own cgroups at `target` (runtime/features/mount/cgroupfs.ts); `flags`: MS_NOSUID etc.; `cgroupns`: the plan has `ns cgroup`. */
  | { kind: "mount-cgroup"; target: string; ro: boolean; flags: number; cgroupns: boolean }
  /** `readonly` and `mask` (runtime/features/mount/protect.ts): held by the planner until the mounts before the next command are made. */
  | { kind: "readonly"; path: string }
  | { kind: "mask"; path: string }
  /** `volume`: bind a host path or a store volume (made first when `create`) at a container path (runtime/features/image/volume.ts). */
  | { kind: "volume"; from: string; target: string; ro: boolean; create: boolean }
  | { kind: "rootfs"; dir: string; mode: "pivot" | "chroot"; overlay: OverlayDirs | null; initFiles: InitFiles | null; image?: ImageRoot }
  /** `console`: an OCI process's terminal, made once the root is entered and its master sent to the console socket (runtime/features/process/console.ts). */
  | { kind: "enter-root"; mode: "pivot" | "chroot"; console?: boolean; consoleSize?: { rows: number; cols: number } }
  | { kind: "env"; vars: Record<string, string> }
  | { kind: "cwd"; dir: string }
  /** Limits as decimal strings or "unlimited" (the plan is JSON). */
  | { kind: "rlimit"; name: string; soft: string; hard: string }
  | { kind: "no-new-privs" }
  | { kind: "sysctl"; values: (readonly [key: string, value: string])[] }
  /** `cap drop|add`: CAP_* names, or ["all"] (runtime/features/security/caps.ts). */
  | { kind: "cap"; form: "drop" | "add"; caps: string[] }
  /** `seccomp`: a checked profile (runtime/features/security/profile.ts), or null for `none`. */
  | { kind: "seccomp"; profile: Profile | null }
  /** `user`: ids or names, looked up in the container's files when a command starts. */
  | { kind: "user"; user: UserSetting }
  | { kind: "show-security" }
  /** `capture`: keep what `expect output` needs (runtime/features/process/capture.ts), for the `tests` that follow. */
  | { kind: "run"; argv: string[]; capture: boolean; tests?: OutputTest[] }
  /** `terminal`: an OCI process's `terminal`, on a new pty whose master goes to the console socket (runtime/features/process/console.ts). */
  | { kind: "exec"; argv: string[]; terminal?: boolean }
  | { kind: "show"; what: "ns" | "mounts" | "procs" | "ids" | "layers" }
  | { kind: "idmap"; which: "uid" | "gid"; line: IdMapLine }
  | { kind: "cgroup-limit"; limit: CgroupLimit }
  | { kind: "show-cgroup" }
  | { kind: "echo"; text: string }
  | { kind: "sleep"; ms: number }
  | { kind: "expect"; subject: "exit" | "output"; test: OutputTest["test"]; value: string }
  /** `net veth`/`net bridge`: the host's part, made between unshare and PID 1 (runtime/features/net/host.ts). */
  | { kind: "net-host"; link: HostLinkSpec }
  /** The container's end of a veth pair: address and IFF_UP (runtime/features/net/container.ts). */
  | { kind: "net-addr"; name: string; cidr: Cidr }
  /** `net route`: a route inside the container, `dst` null for the default one. */
  | { kind: "net-route"; dst: Cidr | null; via: string }
  /** `show net`: PID 1 dumps its links, addresses and routes (runtime/features/net/container.ts). */
  | { kind: "show-net" };

/** One `expect output` test, as the `run` before it carries it to PID 1. */
export interface OutputTest {
  test: "==" | "!=" | "contains" | "matches";
  value: string;
}

/** What a `run` kept of its output (trailing newline removed): bounded, see runtime/features/process/capture.ts. */
export interface CapturedOutput {
  /** Size of the whole output, in bytes. */
  bytes: number;
  /** All of it when it is short; else its first part. */
  head: string;
  /** The last part, when the middle was not kept. */
  tail?: string;
  /** The outcome of each test the run was given, decided on the whole stream where the test allows. */
  checks: (OutputTest & { ok: boolean })[];
}

export type OpKind = OpBody["kind"];

/** The traits the planner and the stages go by, declared per op kind instead of tested by name. */
export interface OpTraits {
  /** Who performs ops of this kind. */
  side: Side;
  /** It observes the container (its processes, its files): a pending new root is entered before it. */
  observes?: boolean;
  /** It changes the container's mount tree: PID 1 keeps a copy of the host's tree before the first. */
  mounts?: boolean;
  /** It starts a command (`run`, `exec`): limits before the first one are written before anything runs. */
  command?: boolean;
  /**
   * It applies to the mounts made before it runs (`readonly`, `mask`): the planner holds
   * it until right before the next op that observes the container, after the mounts
   * written before that op, wherever its statement stands among them.
   */
  afterMounts?: boolean;
}

/**
 * Every op kind's traits. Typed over OpKind, so an op kind added without its
 * traits does not compile; PID 1's executor table (runtime/agent.ts) is typed
 * over the kinds whose side is "pid1" here, so a missing executor does not either.
 */
export const OP_TRAITS = {
  unshare: { side: "creator" },
  join: { side: "creator" },
  "host-tree": { side: "pid1" },
  hostname: { side: "pid1" },
  domainname: { side: "pid1" },
  "link-up": { side: "pid1" },
  mount: { side: "pid1", mounts: true },
  "mount-dev": { side: "pid1", mounts: true },
  "device-node": { side: "pid1", mounts: true },
  "mount-cgroup": { side: "pid1", mounts: true },
  readonly: { side: "pid1", mounts: true, afterMounts: true },
  mask: { side: "pid1", mounts: true, afterMounts: true },
  volume: { side: "pid1", mounts: true },
  rootfs: { side: "pid1", mounts: true },
  "enter-root": { side: "pid1" },
  env: { side: "pid1" },
  cwd: { side: "pid1" },
  rlimit: { side: "pid1" },
  "no-new-privs": { side: "pid1" },
  sysctl: { side: "pid1" },
  cap: { side: "pid1" },
  seccomp: { side: "pid1" },
  user: { side: "pid1" },
  "show-security": { side: "pid1", observes: true },
  run: { side: "pid1", observes: true, command: true },
  exec: { side: "pid1", observes: true, command: true },
  show: { side: "host", observes: true },
  idmap: { side: "host" },
  "cgroup-limit": { side: "host" },
  "show-cgroup": { side: "host" },
  echo: { side: "front" },
  sleep: { side: "front" },
  expect: { side: "front" },
  "net-host": { side: "host" },
  "net-addr": { side: "pid1" },
  "net-route": { side: "pid1" },
  "show-net": { side: "pid1", observes: true },
} as const satisfies Record<OpKind, OpTraits>;

/** The op kinds PID 1 performs. */
export type Pid1OpKind = { [K in OpKind]: (typeof OP_TRAITS)[K]["side"] extends "pid1" ? K : never }[OpKind];

/** A root that PID 1 mounts in the state directory (its scratch/ and root/: a default or image rootfs). */
export function overlaid(op: Op): boolean {
  return op.kind === "rootfs" && (op.overlay !== null || op.image !== undefined);
}

/** The traits of an op's kind. */
export function traitsOf(kind: OpKind): OpTraits {
  return OP_TRAITS[kind];
}

export type Op = OpBody & {
  side: Side;
  /** The statement that produced this op, for errors and --trace. */
  span: Span;
  /** The statement's source text, e.g. `hostname "c"`. */
  source: string;
  /** What the op will do, as syscalls or file writes, for `ctr explain`: derived from its executor on first read (the op alone; runtime/explain.ts explainOps gives them in the plan's context). */
  explain: string[];
};

/** A compiled script. */
export interface Plan {
  /** Namespaces to create, in the order the kernel needs them. */
  namespaces: NsName[];
  /** Everything after namespace creation, in script order. */
  ops: Op[];
  /** True when a rootfs statement asks for the embedded default. */
  needsDefaultRootfs: boolean;
}

/** The result of a `run` op, as PID 1 reports it. */
export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  output?: CapturedOutput;
  /** Why the command could not be started (its exitCode is then 126 or 127). */
  error?: string;
}

/** One `rlimit`: its resource's name, the limits as decimal strings or "unlimited". */
export interface RlimitSetting {
  name: string;
  soft: string;
  hard: string;
}

/** What PID 1 (stage 2) remembers between operations. */
export interface AgentState {
  /** Every call that changes the container goes through it: native/seam.ts (a RecordingSys in tests). */
  sys: Sys;
  /** The slave of the console terminal made at enter-root, for `exec` (runtime/features/process/console.ts). */
  consoleSlave?: string;
  /** Host path of the prepared new root, until it is entered. */
  pendingRoot: string | null;
  /** How the pending root will be entered. */
  rootMode: "pivot" | "chroot" | null;
  /** True once pivot_root or chroot has happened. */
  entered: boolean;
  env: Record<string, string>;
  cwd: string;
  /** `rlimit` and `no_new_privs`: steps of every later command's ProcessSpec (features/process/spec.ts). */
  rlimits?: RlimitSetting[];
  noNewPrivs?: boolean;
  /** `cap`, `seccomp` and `user`: steps 4 to 6 of the ProcessSpec (runtime/features/security/). */
  caps?: CapSetting;
  seccomp?: Profile | null;
  user?: UserSetting;
  /** The directory ctr was started in: relative host paths are taken from it. */
  hostCwd?: string;
  /** The image's Entrypoint + Cmd after `rootfs image` (`exec default`). */
  imageCommand?: string[];
  /** The image config's User when it is the user in force (`rootfs image`, no `user`): runtime/features/process/process.ts names it. */
  imageUser?: UserSetting;
  /** A detached copy of the host's mount tree (runtime/features/mount/hostmount.ts), -1 or absent until made. */
  hostTree?: number;
}
