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
//   - Every target inside the container's root is resolved once, inside that root, into a
//     descriptor, and the mount is attached on the descriptor (runtime/features/mount/target.ts):
//     until the root is entered the root is the prepared root, and a symlink in an untrusted
//     rootfs, or one a second container swaps in while ctr mounts, cannot lead a mount or a
//     mkdir onto the host. So a filesystem is made with fsopen/fsconfig/fsmount and attached
//     with move_mount rather than mount(2) by path. Bind and overlay sources stay host paths,
//     before and after: runtime/features/mount/hostmount.ts.
//   - A read-only bind: mount_setattr on the detached copy before it is attached (it is never
//     seen writable); mount(2) would need a second call, MS_BIND|MS_REMOUNT|MS_RDONLY.
//   - Without CAP_MKNOD in the initial user namespace, mknod of devices fails
//     (EPERM in a user namespace): /dev nodes are then bind-mounted from the
//     host, as rootless runc does.

import {
  AT_EMPTY_PATH,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_FLAG,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR_RDONLY,
  MS_BIND,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_REC,
  MS_STRICTATIME,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  RESOLVE_NO_SYMLINKS,
  S_IFCHR,
  makedev,
  realSys,
  SysError,
  type Sys,
} from "../../../native/index.ts";
import type { AgentState, MountSpec, Op } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { mountAttrs } from "./flags.ts";
import { attachBind, fsLog, mountOverlayFromHost, openBindSource } from "./hostmount.ts";
import { atTarget, attachOnto } from "./target.ts";

/** Stop all propagation between this mount namespace and the host's (see the rule above). */
export function makeRootPrivate(sys: Pick<Sys, "mount"> = realSys): void {
  sys.mount(null, "/", null, MS_REC | MS_PRIVATE, null);
}

export function doMount(st: AgentState, m: MountSpec, remountRo: boolean): void {
  if ((m.flags & MS_BIND) !== 0 && m.source) {
    bindFromHost(st, m.source, m.target, remountRo, mountAttrs(m.flags));
    return;
  }
  atTarget(st, m.target, "dir", (target) => {
    if (m.layers) {
      mountOverlayFromHost(st, target, m.layers, m.flags);
      return;
    }
    const mnt = newFilesystem(st.sys, m.fstype ?? "", m.source, m.data, m.flags);
    try {
      attachOnto(st.sys, mnt, target);
    } finally {
      st.sys.close(mnt);
    }
  });
}

/**
 * A new filesystem as a detached mount: fsopen, one fsconfig per option of mount(2)'s
 * `data` ("k=v" a string, "k" a flag), fsmount with the MS_* bits as mount attributes.
 * Returns the mount's descriptor (the caller closes it).
 */
export function newFilesystem(sys: Sys, fstype: string, source: string | null, data: string | null, flags: number): number {
  const ctx = sys.fsopen(fstype, FSOPEN_CLOEXEC);
  try {
    // What /proc/self/mountinfo shows as the source, as mount(2)'s first argument would.
    if (source) sys.fsconfig(ctx, FSCONFIG_SET_STRING, "source", source);
    for (const opt of (data ?? "").split(",").filter(Boolean)) {
      const eq = opt.indexOf("=");
      if (eq < 0) sys.fsconfig(ctx, FSCONFIG_SET_FLAG, opt, null);
      else sys.fsconfig(ctx, FSCONFIG_SET_STRING, opt.slice(0, eq), opt.slice(eq + 1));
    }
    try {
      sys.fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
    } catch (e) {
      const why = fsLog(sys, ctx);
      if (e instanceof SysError && why) e.message += `: the kernel says "${why}"`;
      throw e;
    }
    return sys.fsmount(ctx, FSMOUNT_CLOEXEC, mountAttrs(flags));
  } finally {
    sys.close(ctx);
  }
}

/**
 * Bind the host path `source` on the container path `target`, with the mount attributes
 * `attrs` (and read-only with `ro`) set on the copy before it is attached.
 */
function bindFromHost(st: AgentState, source: string, target: string, ro: boolean, attrs: number): void {
  const src = openBindSource(st, source);
  try {
    atTarget(st, target, src.isDir ? "dir" : "file", (fd) => attachBind(st, src.fd, fd, source, attrs | (ro ? MOUNT_ATTR_RDONLY : 0)));
  } finally {
    st.sys.close(src.fd);
  }
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

export function mountDev(st: AgentState, path: string, ro: boolean, strictatime = false): void {
  const sys = st.sys;
  atTarget(st, path, "dir", (target) => {
    const dev = newFilesystem(sys, "tmpfs", "tmpfs", "mode=755,size=65536k", MS_NOSUID | MS_NOEXEC | (strictatime ? MS_STRICTATIME : 0));
    try {
      attachOnto(sys, dev, target);
      // Everything below is made relative to the tmpfs's own descriptor: no path is looked up.
      populateDev(st, dev);
      if (ro) sys.mountSetattr(dev, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
    } finally {
      sys.close(dev);
    }
  });
}

function populateDev(st: AgentState, dev: number): void {
  const sys = st.sys;
  let useBind = false;
  for (const [name, major, minor] of DEVICES) {
    if (!useBind) {
      try {
        sys.mknodat(dev, name, S_IFCHR | 0o666, makedev(major, minor));
        sys.fchmodat(dev, name, 0o666); // mknod's mode is masked by the umask
        continue;
      } catch (e) {
        if (!(e instanceof SysError) || e.code !== "EPERM") throw e;
        useBind = true; // in a user namespace: bind the host's nodes instead
      }
    }
    sys.close(sys.openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644));
    const node = sys.openat2(dev, name, O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS);
    const src = openBindSource(st, `/dev/${name}`);
    try {
      attachBind(st, src.fd, node, `/dev/${name}`, 0);
    } finally {
      sys.close(src.fd);
      sys.close(node);
    }
  }
  for (const [name, to] of DEV_LINKS) sys.symlinkat(to, dev, name);
  sys.mkdirat(dev, "pts", 0o755);
  sys.mkdirat(dev, "shm", 0o755);
  sys.fchmodat(dev, "shm", 0o1777);
}

/** `ctr explain`'s comments on the calls of `mount` and `mount dev` (runtime/explain.ts). */
export function mountNotes(op: Op): ExplainNotes {
  const target = "the root as PID 1 reaches it now, then the target inside it: a symlink swapped in cannot lead out of the root";
  if (op.kind === "mount-dev") return { calls: { openat2: target, fchmodat: "the umask masked mknod's mode", symlinkat: "made from the tmpfs's descriptor: no path is looked up" } };
  if (op.kind !== "mount") return {};
  if (op.mount.layers) return { calls: { openat2: `${target}; the layers are host paths: looked up in PID 1's copy of the host's mount tree` } };
  if ((op.mount.flags & MS_BIND) === 0) return { calls: { openat2: target } };
  return { calls: { openat2: `SRC is a host path: looked up in PID 1's copy of the host's mount tree; then ${target}`, mount_setattr: "on the copy, before it is attached" } };
}
