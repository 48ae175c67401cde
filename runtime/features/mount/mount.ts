// Mounts: attaching filesystems to the tree a mount namespace sees.
//
// Rules that shape this file:
//   - A new mount namespace starts as a copy of the parent's, and on systemd
//     machines every mount is "shared": without first making the whole tree
//     private (MS_REC|MS_PRIVATE on "/"), a mount made inside propagates to the
//     host (the walkthrough's mount chapter shows the host's /proc broken that
//     way). So stage 1 calls makeRootPrivate right after unshare(CLONE_NEWNS),
//     before PID 1 exists: no mount of ctr's or of a command's can escape.
//   - A read-only bind needs two calls: MS_BIND creates it, and only a remount
//     with MS_BIND|MS_REMOUNT|MS_RDONLY makes it read-only.
//   - Until the new root is entered, container paths are resolved inside the
//     prepared root, following symlinks as if that root were "/" (a symlink in
//     an untrusted rootfs must not redirect a mount onto the host). Bind and
//     overlay sources stay host paths, before and after: runtime/features/mount/hostmount.ts.
//   - Without CAP_MKNOD in the initial user namespace, mknod of devices fails
//     (EPERM in a user namespace): /dev nodes are then bind-mounted from the
//     host, as rootless runc does.

import { posix } from "node:path";
import {
  MS_BIND,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  S_IFCHR,
  errnoNumber,
  makedev,
  realSys,
  strerror,
  SysError,
  type Sys,
} from "../../../native/index.ts";
import type { AgentState, MountSpec, Op } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { REMOUNT_BITS } from "./flags.ts";
import { attachBind, mountOverlayFromHost, openBindSource } from "./hostmount.ts";

/** Stop all propagation between this mount namespace and the host's (see the rule above). */
export function makeRootPrivate(sys: Pick<Sys, "mount"> = realSys): void {
  sys.mount(null, "/", null, MS_REC | MS_PRIVATE, null);
}

/**
 * Resolve a container path to the path PID 1 must use now: inside the prepared
 * root before it is entered, as is afterwards. Symlinks are followed within the
 * root; ".." never climbs above it.
 */
export function containerPath(st: AgentState, path: string): string {
  checkInsideRoot(path, st.cwd || "/");
  if (!st.pendingRoot || st.entered) return posix.resolve(st.cwd || "/", path);
  return joinInRoot(st.sys, st.pendingRoot, path);
}

/**
 * Refuse a path whose ".." climbs above "/": the kernel would stop at the root,
 * but a script that writes `../../etc` means a place the container does not
 * have. (A symlink in the rootfs that points outside is resolved inside it.)
 */
function checkInsideRoot(path: string, cwd: string): void {
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

export function joinInRoot(sys: Sys, root: string, path: string): string {
  const parts = posix.normalize("/" + path).split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    if (part === ".") continue;
    const candidate = root + "/" + [...resolved, part].join("/");
    let link: string | null = null;
    try {
      if (sys.lstat(candidate).isSymbolicLink()) link = sys.readlink(candidate);
    } catch {
      // does not exist yet: the rest is created as plain directories
    }
    if (link === null) {
      resolved.push(part);
      continue;
    }
    if (++hops > 40) throw new SysError({ errno: 40, syscall: "resolve", args: [path], message: `too many symbolic links in "${path}"` });
    const target = link.split("/").filter(Boolean);
    if (link.startsWith("/")) resolved.length = 0;
    parts.unshift(...target);
  }
  return posix.join(root, ...resolved);
}

/** Create a mount point: a directory, or an empty file when binding a file. */
export function ensureMountPoint(sys: Sys, target: string, file: boolean, shown = target): void {
  if (sys.exists(target)) return;
  try {
    if (file) {
      sys.mkdirp(posix.dirname(target));
      sys.createFile(target);
    } else {
      sys.mkdirp(target);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new SysError({
      errno: errnoNumber(code) ?? 0,
      code,
      syscall: file ? "open" : "mkdir",
      args: [target],
      message: `cannot create the mount point "${shown}": ${code ? `${code} (${strerror(errnoNumber(code) ?? 0)})` : String(e)}`,
    });
  }
}

export function doMount(st: AgentState, m: MountSpec, remountRo: boolean): void {
  const target = containerPath(st, m.target);
  if ((m.flags & MS_BIND) !== 0 && m.source) {
    bindFromHost(st, m.source, target, m.target, remountRo, m.flags & REMOUNT_BITS);
    return;
  }
  ensureMountPoint(st.sys, target, false, m.target);
  if (m.layers) {
    mountOverlayFromHost(st, target, m.layers, m.flags);
    return;
  }
  st.sys.mount(m.source, target, m.fstype, m.flags, m.data);
}

/**
 * Bind the host path `source` on `target` (a path PID 1 can use now). Per-mount
 * flags need the remount: MS_BIND alone ignores them.
 */
function bindFromHost(st: AgentState, source: string, target: string, shown: string, ro: boolean, extra: number): void {
  const src = openBindSource(st, source);
  try {
    ensureMountPoint(st.sys, target, !src.isDir, shown);
  } catch (e) {
    st.sys.close(src.fd);
    throw e;
  }
  attachBind(st, src.fd, target, source);
  if (ro || extra) st.sys.mount(null, target, null, MS_BIND | MS_REMOUNT | (ro ? MS_RDONLY : 0) | extra, null);
}

// A minimal /dev, as runc and Docker make it.
export const DEVICES: [name: string, major: number, minor: number][] = [
  ["null", 1, 3],
  ["zero", 1, 5],
  ["full", 1, 7],
  ["random", 1, 8],
  ["urandom", 1, 9],
  ["tty", 5, 0],
];
const DEV_LINKS: [name: string, target: string][] = [
  ["ptmx", "pts/ptmx"],
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
];

export function mountDev(st: AgentState, path: string, ro: boolean): void {
  const target = containerPath(st, path);
  ensureMountPoint(st.sys, target, false, path);
  st.sys.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k");
  let useBind = false;
  for (const [name, major, minor] of DEVICES) {
    const node = `${target}/${name}`;
    if (!useBind) {
      try {
        st.sys.mknod(node, S_IFCHR | 0o666, makedev(major, minor));
        st.sys.chmod(node, 0o666); // mknod's mode is masked by the umask
        continue;
      } catch (e) {
        if (!(e instanceof SysError) || e.code !== "EPERM") throw e;
        useBind = true; // in a user namespace: bind the host's nodes instead
      }
    }
    bindFromHost(st, `/dev/${name}`, node, `${path}/${name}`, false, 0);
  }
  for (const [name, to] of DEV_LINKS) st.sys.symlink(to, `${target}/${name}`);
  st.sys.mkdir(`${target}/pts`);
  st.sys.mkdir(`${target}/shm`);
  st.sys.chmod(`${target}/shm`, 0o1777);
  if (ro) st.sys.mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, null);
}

/** `ctr explain`'s comments on the calls of `mount` and `mount dev` (runtime/explain.ts). */
export function mountNotes(op: Op): ExplainNotes {
  if (op.kind === "mount-dev") return { calls: { chmod: "the umask masked mknod's mode", openat2: "the host's node, looked up in PID 1's copy of the host's mount tree" } };
  if (op.kind !== "mount") return {};
  if (op.mount.layers) return { calls: { openat2: "the layers are host paths: looked up in PID 1's copy of the host's mount tree" } };
  if ((op.mount.flags & MS_BIND) === 0) return {};
  return { calls: { openat2: "SRC is a host path: looked up in PID 1's copy of the host's mount tree", mkdirp: "for a file SRC: its parent, then an empty file" } };
}
