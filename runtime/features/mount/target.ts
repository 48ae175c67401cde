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
//
// Every executor that mounts onto, creates or binds a path inside the root goes through
// here: `mount` of every form and `volume` (runtime/features/mount/mount.ts), `mount dev`
// (its tmpfs, then the nodes made relative to that tmpfs's own descriptor), the /etc files
// bound in by `rootfs` (runtime/features/rootfs/rootfs.ts), `readonly` and `mask`
// (protect.ts). This is what runc's CVE-2021-30465 fix is about: a second container on the
// same rootfs swapping a mount target for a symlink (renameat2(RENAME_EXCHANGE)) between
// the look-up and the mount; test/security/rename-race.test.ts runs that attack.

import { resolvePath } from "../../posix-path.ts";
import {
  AT_FDCWD,
  errnoNumber,
  MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_EMPTY_PATH,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  RESOLVE_IN_ROOT,
  strerror,
  SysError,
  type Sys,
} from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";

const HOW = O_PATH | O_CLOEXEC;

/** The root's host path as PID 1 reaches it now: the prepared root until it is entered, then "/". */
export function rootNow(st: AgentState): string {
  return st.pendingRoot && !st.entered ? st.pendingRoot : "/";
}

/** A container path made absolute from the container's working directory. */
export function absoluteInContainer(st: AgentState, path: string): string {
  return resolvePath(st.cwd || "/", path);
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
  let parts = abs.split("/").filter((p) => p !== "" && p !== ".");
  for (let hops = 0; ; hops++) {
    try {
      return sys.openat2(root, "./" + parts.join("/"), HOW, RESOLVE_IN_ROOT);
    } catch (e) {
      if (!create || !(e instanceof SysError) || e.code !== "ENOENT") throw e;
    }
    if (hops > 40) throw SysError.fromErrno("openat2", [root, abs], 40 /* ELOOP */);
    const next = makeMissing(sys, root, parts, create);
    if (typeof next === "number") return next;
    parts = next;
  }
}

/**
 * Walk `parts` from the root, making each missing component in its parent's descriptor.
 * The descriptor of the last one, or, when a component is a symlink whose target is not
 * there (yet), the path with that symlink replaced by its target, to resolve again from
 * the root: the target is made inside the root, wherever the link points. When a
 * component changes under the walk (renamed by another process), the same path again:
 * each round is resolved anew inside the root, and the rounds are bounded (40, as the
 * kernel's symlink limit).
 */
function makeMissing(sys: Sys, root: number, parts: string[], create: "dir" | "file"): number | string[] {
  let dir = sys.openat2(root, ".", HOW | O_DIRECTORY, RESOLVE_IN_ROOT);
  try {
    for (let i = 0; i < parts.length; i++) {
      const prefix = "./" + parts.slice(0, i + 1).join("/");
      let fd: number;
      try {
        fd = sys.openat2(root, prefix, HOW, RESOLVE_IN_ROOT);
      } catch (e) {
        if (!(e instanceof SysError) || e.code !== "ENOENT" || parts[i] === "..") throw e;
        if (!makeIn(sys, dir, parts[i]!, i === parts.length - 1 && create === "file")) {
          // Something is there that does not resolve: a symlink to a missing place (else the ENOENT stands).
          let link: string;
          try {
            link = sys.readlinkat(dir, parts[i]!);
          } catch (l) {
            // No longer a symlink: it changed since the look-up (another process renamed it): look again.
            if (l instanceof SysError && l.code === "EINVAL") return parts;
            throw e;
          }
          const to = link.split("/").filter((p) => p !== "" && p !== ".");
          return [...(link.startsWith("/") ? [] : parts.slice(0, i)), ...to, ...parts.slice(i + 1)];
        }
        try {
          fd = sys.openat2(root, prefix, HOW, RESOLVE_IN_ROOT);
        } catch (again) {
          // Made, and gone or moved at once (a component swapped meanwhile): look again from the root.
          if (again instanceof SysError && again.code === "ENOENT") return parts;
          throw again;
        }
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

/** Make a directory (or an empty file) `name` in the directory `dir`: false when something is already there. */
function makeIn(sys: Sys, dir: number, name: string, file: boolean): boolean {
  try {
    if (file) sys.close(sys.openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644));
    else sys.mkdirat(dir, name, 0o755);
    return true;
  } catch (e) {
    if (!(e instanceof SysError) || e.code !== "EEXIST") throw e;
    return false;
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

/**
 * Refuse a path whose ".." climbs above "/": the kernel would stop at the root, but a
 * script that writes `../../etc` means a place the container does not have. (A symlink
 * in the rootfs that points outside is resolved inside it.)
 */
export function checkInsideRoot(path: string, cwd: string): void {
  let depth = path.startsWith("/") ? 0 : cwd.split("/").filter(Boolean).length;
  for (const part of path.split("/")) {
    if (part === "..") depth--;
    else if (part !== "" && part !== ".") depth++;
    if (depth < 0) {
      throw new SysError({
        errno: 22,
        code: "EINVAL",
        syscall: "mount",
        args: [path],
        message: `mount target "${path}" is outside the container's root`,
        hint: "write the target as an absolute path inside the container, e.g. /mnt",
      });
    }
  }
}

/**
 * The one way to a mount target: `path` resolved inside the root (made when missing: a
 * directory, or an empty file for `create` "file"), handed to `use` as an O_PATH
 * descriptor, closed after. The kind is checked on that descriptor, so a directory
 * mount is never attached on a file (or the reverse) wherever a symlink pointed.
 */
export function atTarget<T>(st: AgentState, path: string, create: "dir" | "file", use: (fd: number) => T): T {
  checkInsideRoot(path, st.cwd || "/");
  let fd: number;
  try {
    fd = openInRoot(st, path, create);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    const code = e.code ?? "";
    throw new SysError({
      errno: errnoNumber(code) ?? e.errno,
      code,
      syscall: e.syscall,
      args: [path],
      message: `cannot create the mount point "${path}": ${code} (${strerror(errnoNumber(code) ?? 0)})`,
      ...(code === "ELOOP" ? { hint: "the path goes through a symlink ctr does not follow there" } : {}),
    });
  }
  try {
    const isDir = st.sys.fstat(fd).isDirectory();
    if (isDir !== (create === "dir")) {
      const [code, errno] = isDir ? ["EISDIR", 21] : ["ENOTDIR", 20];
      throw new SysError({ errno, code, syscall: "move_mount", args: [path], message: `mount target "${path}" is ${isDir ? "a directory: a file is bound there" : "not a directory"}: ${code} (${strerror(errno)})` });
    }
    return use(fd);
  } finally {
    st.sys.close(fd);
  }
}

/** Attach the detached mount `mnt` (from fsmount or open_tree) on the target descriptor: no path is looked up. */
export function attachOnto(sys: Sys, mnt: number, target: number): void {
  sys.moveMount(mnt, "", "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, target);
}
