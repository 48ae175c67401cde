// The container's root filesystem: what "/" is for the command.
//
// pivot_root(2) swaps the root mount of the mount namespace and leaves the old
// root mounted below the new one; after umount2(MNT_DETACH) the host's tree is
// gone from the namespace and from /proc/self/mountinfo. Its rules:
//   - the new root must be a mount point: so it is bind-mounted onto itself;
//   - new and old root must not be on the same mount, and the propagation of the
//     old root must not be shared (stage 1 made the tree private);
//   - pivot_root(".", ".") stacks the old root on top of the new one, so no
//     put_old directory is needed inside the rootfs (runc does the same).
// chroot(2) only changes the pathname root of one process: the old root stays
// mounted and a process with CAP_SYS_CHROOT can escape it (chroot again into a
// subdirectory and walk up with ".."). ctr keeps it because chapter 06 uses it,
// and `explain` says so.
//
// `rootfs default` must not let containers write into the shared cache, so it
// is an overlay: the cached tree as the read-only lower layer, a tmpfs as upper
// layer. All of it lives in the container's mount namespace and vanishes with it.

import { AT_FDCWD, MNT_DETACH, MS_BIND, MS_REC, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE, SysError, type Sys } from "../../../native/index.ts";
import { INIT_FILES, type AgentState, type ImageRoot, type InitFiles, type Op, type OverlayDirs } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { mountImageRoot } from "../image/root.ts";
import { attachOnto, openIfThere } from "../mount/target.ts";

export function prepareRoot(st: AgentState, dir: string, mode: "pivot" | "chroot", overlay: OverlayDirs | null, initFiles: InitFiles | null, image?: ImageRoot): void {
  if (st.entered || st.pendingRoot) {
    throw new SysError({ errno: 16, code: "EBUSY", syscall: "rootfs", args: [dir], message: "the container already has a root filesystem" });
  }
  let root = dir;
  if (overlay) {
    st.sys.mount("tmpfs", overlay.scratch, "tmpfs", 0, "mode=755");
    st.sys.mkdir(`${overlay.scratch}/upper`);
    st.sys.mkdir(`${overlay.scratch}/work`);
    st.sys.mount("overlay", overlay.merged, "overlay", 0, `lowerdir=${overlay.lower},upperdir=${overlay.scratch}/upper,workdir=${overlay.scratch}/work`);
    root = overlay.merged;
  } else if (image) {
    mountImageRoot(st, dir, image); // an overlay of the image's layers: runtime/features/image/root.ts
  } else {
    checkDirectory(st.sys, dir);
    // pivot_root needs the new root to be a mount point of its own.
    st.sys.mount(dir, dir, null, MS_BIND | MS_REC, null);
  }
  st.pendingRoot = root;
  st.rootMode = mode;
  if (initFiles) for (const name of INIT_FILES) bindInitFile(st, `${initFiles.dir}/${name}`, `/etc/${name}`);
}

/**
 * Bind ctr's copy of an /etc file on the rootfs's own, when the rootfs has one. The target
 * is resolved inside the prepared root (runtime/features/mount/target.ts): an /etc/hosts that
 * is a symlink to a host path stays inside the root. The source is ctr's state directory.
 */
function bindInitFile(st: AgentState, source: string, path: string): void {
  const target = openIfThere(st, path);
  if (target === null) return;
  try {
    if (st.sys.fstat(target).isDirectory()) return; // not a file: left as the rootfs has it
    const tree = st.sys.openTree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    try {
      attachOnto(st.sys, tree, target);
    } finally {
      st.sys.close(tree);
    }
  } finally {
    st.sys.close(target);
  }
}

function checkDirectory(sys: Sys, dir: string): void {
  let isDir: boolean;
  try {
    isDir = sys.stat(dir).isDirectory();
  } catch {
    throw new SysError({ errno: 2, code: "ENOENT", syscall: "stat", args: [dir], message: `rootfs "${dir}" does not exist`, hint: "create it, or use `rootfs default`" });
  }
  if (!isDir) throw new SysError({ errno: 20, code: "ENOTDIR", syscall: "stat", args: [dir], message: `rootfs "${dir}" is not a directory` });
}

export function enterRoot(st: AgentState): void {
  const root = st.pendingRoot;
  if (!root || st.entered) return;
  st.sys.chdir(root);
  if (st.rootMode === "chroot") {
    st.sys.chroot(".");
  } else {
    st.sys.pivotRoot(".", ".");
    // The old root is now stacked on "/"; detach it so the host's tree is gone.
    st.sys.umount2(".", MNT_DETACH);
  }
  st.sys.chdir("/");
  st.entered = true;
  st.pendingRoot = null;
}

/** `ctr explain`'s comments on `rootfs` and `chroot` (runtime/explain.ts); `after` is PID 1's state once the op ran. */
export function rootfsNotes(op: Op, _ctx: unknown, after: AgentState): ExplainNotes {
  if (op.kind !== "rootfs") return {};
  const root = after.pendingRoot;
  const where = root ? [`until the root is entered, mounts are made inside ${root}: the lines below write ${root}/P as /P`] : [];
  if (op.overlay) return { before: [`the embedded default rootfs (built on first use into ${op.overlay.lower}), writable through an overlay`], after: where };
  return { calls: { mount: "pivot_root needs a mount point" }, after: where };
}

/** `ctr explain`'s comments on entering the root (runtime/explain.ts). */
export function enterRootNotes(): ExplainNotes {
  return { calls: { umount2: "the host's tree is gone from the container", chroot: "chroot is escapable by a process with CAP_SYS_CHROOT; `rootfs` uses pivot_root" } };
}
