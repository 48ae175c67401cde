// Bind and overlay sources are host paths, wherever the statement appears.
//
// PID 1 lives in the container's mount namespace, so a plain mount(2) resolves
// a source path in the container's view: right after `ns mnt` that view is a
// copy of the host's, but once the container has mounts of its own (a tmpfs on
// /tmp) or has entered its new root (after the first `run`), "/tmp/x" is the
// container's file, or nothing. So before the script's first mount (the
// planner's "host-tree" op; stage 1 has made the tree private at the unshare),
// PID 1 takes a detached copy of the whole tree as it is then (the host's):
// open_tree("/", OPEN_TREE_CLONE |
// AT_RECURSIVE), held as a close-on-exec descriptor that no `run` inherits and
// that `execve` closes. Every bind or overlay source is then looked up in that
// copy, with openat2(RESOLVE_IN_ROOT) so that its symlinks and ".." stay in
// the host's tree, and attached with the fd-based mount API: open_tree of the
// source + move_mount for a bind, fsopen("overlay") with the layers given as
// file descriptors + fsmount + move_mount for an overlay.
//
// The copy is made in the container's own mount namespace (and user
// namespace), so this works rootless too; the host side needs no privilege.
// Cloning from a detached tree needs a recent kernel (the 6.x series): where
// open_tree refuses it, the error says so.

import { posix } from "node:path";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_RECURSIVE,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_FD,
  FSCONFIG_SET_FLAG,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  O_CLOEXEC,
  O_DIRECTORY,
  O_PATH,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  RESOLVE_IN_ROOT,
  SysError,
  type Sys,
} from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { mountAttrs } from "./flags.ts";
import { attachOnto } from "./target.ts";

/** Take the detached copy of the host's mount tree (before the script's first mount; the tree is private by then). */
export function keepHostTree(st: AgentState): void {
  if (st.hostTree !== undefined && st.hostTree >= 0) return;
  // After MS_REC|MS_PRIVATE every mount of the copy is private too: nothing
  // attached from it can propagate back to the host.
  try {
    st.hostTree = st.sys.openTree(AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
  } catch (e) {
    // Not fatal here: only a bind or an overlay needs the copy, and says why it is missing.
    st.hostTree = -1;
    treeError = e instanceof Error ? e.message : String(e);
  }
}

let treeError = "";

/** `ctr explain`'s comment on host-tree (runtime/explain.ts). */
export function hostTreeNotes(): ExplainNotes {
  return { calls: { open_tree: "a copy of the host's tree, first: bind and overlay sources are host paths" } };
}

/** A host path as PID 1 must write it: absolute, from the directory ctr was started in. */
export function hostAbsolute(st: AgentState, path: string): string {
  return posix.resolve(st.hostCwd ?? "/", path);
}

function hostTree(st: AgentState, path: string): number {
  if (st.hostTree === undefined || st.hostTree < 0) {
    const why = treeError ? ` (${treeError})` : "";
    throw new SysError({ errno: 22, code: "EINVAL", syscall: "open_tree", args: [path], message: `cannot reach the host path "${path}": the container has no copy of the host's mount tree${why}`, hint: "the copy is taken before the first mount of a container with `ns mnt`; open_tree(2) needs Linux 5.2 or later" });
  }
  return st.hostTree;
}

/** An O_PATH descriptor of a host path, resolved in the host's tree. */
function openHost(st: AgentState, path: string, what: string, dir: boolean): number {
  const abs = hostAbsolute(st, path);
  try {
    return st.sys.openat2(hostTree(st, abs), "." + abs, O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0), RESOLVE_IN_ROOT);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    if (e.code === "ENOENT") e.message = `${what} "${path}" does not exist on the host`;
    else if (e.code === "ENOTDIR") e.message = `${what} "${path}" is not a directory on the host`;
    else e.message = `cannot open ${what} "${path}" on the host: ${e.message}`;
    e.hint ??= `${what}s are host paths, looked up on the host whatever the container has mounted or entered`;
    throw e;
  }
}

/** Open a bind source: its kind decides the mount point to make (a file or a directory). */
export function openBindSource(st: AgentState, path: string): { fd: number; isDir: boolean } {
  const fd = openHost(st, path, "bind source", false);
  let isDir = false;
  try {
    isDir = st.sys.fstat(fd).isDirectory();
  } catch {
    // fstat of an O_PATH fd works on every kernel ctr runs on; a directory is the safe guess
    isDir = true;
  }
  return { fd, isDir };
}

/**
 * Attach a copy of the mount tree at the source fd (from openBindSource) on the target
 * descriptor (runtime/features/mount/target.ts), with the mount attributes `attrs` set on
 * the copy first (recursively: a read-only bind is read-only all the way down). The
 * caller closes both descriptors.
 */
export function attachBind(st: AgentState, fd: number, target: number, source: string, attrs: number): void {
  let tree: number;
  try {
    tree = st.sys.openTree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
  } catch (e) {
    if (e instanceof SysError && e.code === "EINVAL") {
      e.message = `open_tree cannot copy "${source}" from the host's mount tree on this kernel`;
      e.hint ??= "cloning from a detached mount tree needs a recent Linux (6.x)";
    }
    throw e;
  }
  try {
    if (attrs) st.sys.mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, attrs);
    attachOnto(st.sys, tree, target);
  } finally {
    st.sys.close(tree);
  }
}

/** Mount an overlay whose layers are host directories, given to the kernel as descriptors. */
export function mountOverlayFromHost(st: AgentState, target: number, layers: { lower: string[]; upper?: string; work?: string; userxattr?: boolean }, flags: number): void {
  const fds: number[] = [];
  let ctx = -1;
  try {
    const lower = layers.lower.map((p) => [p, openHost(st, p, "overlay layer", true)] as const);
    fds.push(...lower.map(([, fd]) => fd));
    const upper = layers.upper !== undefined ? openHost(st, layers.upper, "overlay layer", true) : -1;
    if (upper >= 0) fds.push(upper);
    const work = layers.work !== undefined ? openHost(st, layers.work, "overlay work directory", true) : -1;
    if (work >= 0) fds.push(work);
    ctx = st.sys.fsopen("overlay", FSOPEN_CLOEXEC);
    // "lowerdir+" appends a layer below those given before: the first is on top, as in lowerdir=A:B.
    for (const [, fd] of lower) st.sys.fsconfig(ctx, FSCONFIG_SET_FD, "lowerdir+", null, fd);
    if (upper >= 0) st.sys.fsconfig(ctx, FSCONFIG_SET_FD, "upperdir", null, upper);
    if (work >= 0) st.sys.fsconfig(ctx, FSCONFIG_SET_FD, "workdir", null, work);
    // user.overlay.* instead of trusted.overlay.* (opaque dirs, whiteouts): what an unprivileged import writes.
    if (layers.userxattr) st.sys.fsconfig(ctx, FSCONFIG_SET_FLAG, "userxattr", null);
    try {
      st.sys.fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
    } catch (e) {
      // The kernel says why in the context's log ("e overlayfs: ..."): pass it on.
      const why = fsLog(st.sys, ctx);
      if (e instanceof SysError && why) e.message += `: the kernel says "${why}"`;
      if (e instanceof SysError && e.code === "EINVAL" && upper < 0 && lower.length < 2) e.hint ??= "without upper= and work=, an overlay needs at least two lower layers (lower=A:B)";
      throw e;
    }
    const mnt = st.sys.fsmount(ctx, FSMOUNT_CLOEXEC, mountAttrs(flags));
    try {
      attachOnto(st.sys, mnt, target);
    } finally {
      st.sys.close(mnt);
    }
  } finally {
    for (const fd of fds) st.sys.close(fd);
    if (ctx >= 0) st.sys.close(ctx);
  }
}

/** What the kernel wrote in a filesystem context's log (why fsconfig's CMD_CREATE failed). */
export function fsLog(sys: Sys, ctx: number): string {
  const lines: string[] = [];
  const buf = new Uint8Array(512);
  for (let i = 0; i < 8; i++) {
    let n: number;
    try {
      n = sys.read(ctx, buf);
    } catch {
      break; // ENODATA: the log is empty
    }
    if (n <= 0) break;
    lines.push(new TextDecoder().decode(buf.subarray(0, n)).replace(/^[ewi] /, ""));
  }
  return lines.join("; ");
}

