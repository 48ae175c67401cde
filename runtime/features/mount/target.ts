// Paths inside the container's root that PID 1 mounts onto or creates, opened race-free.
//
// A path string is looked up again, component by component, by every call that takes
// it. Between ctr's look-up and its mount(2) another process of the container (or of a
// second container on the same rootfs) can swap a directory for a symlink to a host
// path, and a mount or mkdir by path would then land on the host. So a target is
// resolved once, with openat2(RESOLVE_IN_ROOT) from a descriptor of the root (absolute
// symlinks and ".." stay inside it, whatever they say), into an O_PATH descriptor, and
// the mount is attached to that descriptor (move_mount with MOVE_MOUNT_T_EMPTY_PATH,
// mount_setattr with AT_EMPTY_PATH): no path is looked up again after that.
//
// Missing components are made one by one, each with mkdirat (or openat(O_CREAT|O_EXCL|
// O_NOFOLLOW) for a file) from the descriptor of its parent, itself resolved inside the
// root: a symlink swapped in anywhere can only point at another place inside the root.

import { posix } from "node:path";
import { AT_FDCWD, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_WRONLY, RESOLVE_IN_ROOT, SysError, type Sys } from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";

const HOW = O_PATH | O_CLOEXEC;

/** The root's host path as PID 1 reaches it now: the prepared root until it is entered, then "/". */
export function rootNow(st: AgentState): string {
  return st.pendingRoot && !st.entered ? st.pendingRoot : "/";
}

/** A container path made absolute from the container's working directory. */
export function absoluteInContainer(st: AgentState, path: string): string {
  return posix.resolve(st.cwd || "/", path);
}

/**
 * An O_PATH descriptor of the container path `path`, resolved inside the root. With
 * `create`, the missing components are made (directories; the last one a file when
 * `create` is "file"). Throws the SysError of the failing call (ENOENT when nothing is
 * there and nothing is to be made).
 */
export function openInRoot(st: AgentState, path: string, create?: "dir" | "file"): number {
  const sys = st.sys;
  const root = sys.openat2(AT_FDCWD, rootNow(st), HOW | O_DIRECTORY, 0);
  try {
    return resolveCreating(sys, root, absoluteInContainer(st, path), create);
  } finally {
    sys.close(root);
  }
}

function resolveCreating(sys: Sys, root: number, abs: string, create: "dir" | "file" | undefined): number {
  try {
    return sys.openat2(root, "." + abs, HOW, RESOLVE_IN_ROOT);
  } catch (e) {
    if (!create || !(e instanceof SysError) || e.code !== "ENOENT") throw e;
  }
  const parts = abs.split("/").filter(Boolean);
  let dir = sys.openat2(root, ".", HOW | O_DIRECTORY, RESOLVE_IN_ROOT);
  try {
    for (let i = 0; i < parts.length; i++) {
      const prefix = "./" + parts.slice(0, i + 1).join("/");
      let fd: number;
      try {
        fd = sys.openat2(root, prefix, HOW, RESOLVE_IN_ROOT);
      } catch (e) {
        if (!(e instanceof SysError) || e.code !== "ENOENT") throw e;
        makeIn(sys, dir, parts[i]!, i === parts.length - 1 && create === "file");
        fd = sys.openat2(root, prefix, HOW, RESOLVE_IN_ROOT);
      }
      sys.close(dir);
      dir = fd;
    }
    const out = dir;
    dir = -1;
    return out;
  } finally {
    if (dir >= 0) sys.close(dir);
  }
}

/** A directory (or an empty file) `name` in the directory `dir`; one already there is fine. */
function makeIn(sys: Sys, dir: number, name: string, file: boolean): void {
  try {
    if (file) sys.close(sys.openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644));
    else sys.mkdirat(dir, name, 0o755);
  } catch (e) {
    if (!(e instanceof SysError) || e.code !== "EEXIST") throw e;
  }
}

/** openInRoot, or null when the path does not exist (readonly and mask skip such paths, as runc does). */
export function openIfThere(st: AgentState, path: string): number | null {
  try {
    return openInRoot(st, path);
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") return null;
    throw e;
  }
}
