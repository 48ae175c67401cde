// `device node PATH TYPE [MAJOR:MINOR]`: a device node (or a FIFO) made in the container
// (an OCI config's linux.devices), by PID 1 before the root is entered.
//
// Order and why:
//   - The parent directory is resolved inside the root, made where missing, into a
//     descriptor (runtime/features/mount/target.ts); the node is made from that descriptor
//     with mknodat, so a symlink in the rootfs (or one another container on the same rootfs
//     swaps in) cannot lead the node, or the chmod and chown after it, onto the host.
//   - mknod's mode is masked by the umask: fchmodat sets the mode asked for; it and fchownat
//     are given AT_SYMLINK_NOFOLLOW, so a name swapped for a symlink after mknodat is
//     refused rather than followed.
//   - A node already there is left as it is (runc does the same: the rootfs's own, or
//     one `mount dev` made).
//   - In a user namespace mknod of a device fails (EPERM, no CAP_MKNOD over the initial
//     namespace): the host's node at the same path is bound on an empty file instead, as
//     runc does; its mode and owner are then the host's.

import { posix } from "node:path";
import {
  AT_SYMLINK_NOFOLLOW,
  makedev,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  RESOLVE_NO_SYMLINKS,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  SysError,
} from "../../../native/index.ts";
import type { AgentState, OpBody } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { attachBind, openBindSource } from "../mount/hostmount.ts";
import { absoluteInContainer, checkInsideRoot, openInRoot } from "../mount/target.ts";

export type NodeOp = Extract<OpBody, { kind: "device-node" }>;

const TYPE_BITS: Record<NodeOp["type"], number> = { c: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

export function makeNode(st: AgentState, op: NodeOp): void {
  const sys = st.sys;
  checkInsideRoot(op.path, st.cwd || "/");
  const abs = absoluteInContainer(st, op.path);
  const name = posix.basename(abs);
  if (abs === "/" || name === "..") throw new SysError({ errno: 22, code: "EINVAL", syscall: "mknodat", args: [op.path], message: `"${op.path}" names no file for a device node`, hint: "give the node's path, e.g. /dev/fuse" });
  const dir = openInRoot(st, posix.dirname(abs), "dir");
  try {
    try {
      sys.mknodat(dir, name, TYPE_BITS[op.type] | (op.mode & 0o7777), op.type === "p" ? 0 : makedev(op.major, op.minor));
    } catch (e) {
      if (e instanceof SysError && e.code === "EEXIST") return; // left as it is (the header)
      if (e instanceof SysError && e.code === "EPERM" && op.type !== "p") return bindHostNode(st, dir, name, op.path);
      throw e;
    }
    sys.fchmodat(dir, name, op.mode & 0o7777, AT_SYMLINK_NOFOLLOW);
    if (op.uid !== 0 || op.gid !== 0) sys.fchownat(dir, name, op.uid, op.gid, AT_SYMLINK_NOFOLLOW);
  } finally {
    sys.close(dir);
  }
}

/** In a user namespace: the host's node at `path` bound on an empty file `name` of `dir`. */
function bindHostNode(st: AgentState, dir: number, name: string, path: string): void {
  const sys = st.sys;
  let src: { fd: number; isDir: boolean };
  try {
    src = openBindSource(st, path);
  } catch (e) {
    if (e instanceof SysError) {
      e.message = `cannot make the device node "${path}": mknod is not permitted in a user namespace, and the host has no node at "${path}" to bind there instead (${e.message})`;
      e.hint ??= "give the host's path of the device, or run without `ns user`";
    }
    throw e;
  }
  try {
    sys.close(sys.openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644));
    const node = sys.openat2(dir, name, O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS);
    try {
      attachBind(st, src.fd, node, path, 0);
    } finally {
      sys.close(node);
    }
  } finally {
    sys.close(src.fd);
  }
}

/** `ctr explain`'s comments on `device node`'s calls (runtime/explain.ts). */
export function nodeNotes(): ExplainNotes {
  return {
    calls: {
      openat2: "the parent directory, resolved inside the root as PID 1 reaches it now: a symlink swapped in cannot lead out of it",
      fchmodat: "mknod's mode was masked by the umask; AT_SYMLINK_NOFOLLOW: a name swapped for a symlink is refused, not followed",
      open_tree: "mknod is not permitted there: the host's node is bound instead, as runc does",
    },
  };
}
