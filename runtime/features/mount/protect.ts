// `readonly PATH` and `mask PATH`: parts of the container's tree its processes may read
// but not change, or not see at all (runc's readonlyPaths and maskedPaths).
//
// Rules that shape this file:
//   - Read-only is a property of a mount, not of a file: `readonly /` makes the root mount
//     read-only (the mounts on it, /proc, /dev, /tmp, stay as they are, as runc's
//     readonlyRootfs); any other path first gets a mount of its own, a copy of the tree
//     at that path (open_tree(OPEN_TREE_CLONE)), made read-only and attached on it.
//   - mount_setattr(MOUNT_ATTR_RDONLY) sets that one bit and keeps nosuid/nodev/noexec:
//     a MS_REMOUNT|MS_BIND|MS_RDONLY would clear them, and in a user namespace the kernel
//     refuses to clear flags it locked (EPERM).
//   - A masked file gets the host's /dev/null bound on it (reads are empty, writes vanish);
//     a masked directory gets an empty read-only tmpfs. Both are attached through the
//     target's descriptor (runtime/features/mount/target.ts).
//   - Both apply to what is mounted when they run: the planner holds them until the
//     mounts before the next command are made (OP_TRAITS `afterMounts`, runtime/plan.ts),
//     so `mask /proc/kcore` written before `mount proc` masks the container's /proc.
//   - A path that does not exist is skipped, as runc does (/proc/asound is missing on a
//     machine without sound).

import {
  AT_EMPTY_PATH,
  AT_RECURSIVE,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR_RDONLY,
  MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_EMPTY_PATH,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
} from "../../../native/index.ts";
import { posix } from "node:path";
import type { ExplainNotes } from "../../explain.ts";
import type { AgentState, Op } from "../../ops.ts";
import { MASK_ATTRS } from "./flags.ts";
import { openBindSource } from "./hostmount.ts";
import { absoluteInContainer, openIfThere } from "./target.ts";

const ONTO_FD = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;

/** Make `path` read-only in the container (see the rules above). */
export function makeReadonly(st: AgentState, path: string): void {
  const target = openIfThere(st, path);
  if (target === null) return;
  const sys = st.sys;
  try {
    if (absoluteInContainer(st, path) === "/") {
      sys.mountSetattr(target, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
      return;
    }
    const tree = sys.openTree(target, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
    try {
      sys.mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY);
      sys.moveMount(tree, "", "", ONTO_FD, target);
    } finally {
      sys.close(tree);
    }
  } finally {
    sys.close(target);
  }
}

/** Hide `path` in the container: /dev/null on a file, an empty read-only tmpfs on a directory. */
export function maskPath(st: AgentState, path: string): void {
  const target = openIfThere(st, path);
  if (target === null) return;
  const sys = st.sys;
  try {
    if (!sys.fstat(target).isDirectory()) {
      // The host's /dev/null, from PID 1's copy of the host's tree: the container's own may be anything.
      const src = openBindSource(st, "/dev/null");
      let tree: number;
      try {
        tree = sys.openTree(src.fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | OPEN_TREE_CLOEXEC);
      } finally {
        sys.close(src.fd);
      }
      try {
        sys.moveMount(tree, "", "", ONTO_FD, target);
      } finally {
        sys.close(tree);
      }
      return;
    }
    const ctx = sys.fsopen("tmpfs", FSOPEN_CLOEXEC);
    try {
      sys.fsconfig(ctx, FSCONFIG_SET_STRING, "size", "4k");
      sys.fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
      const mnt = sys.fsmount(ctx, FSMOUNT_CLOEXEC, MASK_ATTRS);
      try {
        sys.moveMount(mnt, "", "", ONTO_FD, target);
      } finally {
        sys.close(mnt);
      }
    } finally {
      sys.close(ctx);
    }
  } finally {
    sys.close(target);
  }
}

/** `ctr explain`'s comments on readonly's derived lines (runtime/explain.ts). */
export function readonlyNotes(op: Op): ExplainNotes {
  if (op.kind !== "readonly") return {};
  const root = posix.resolve("/", op.path) === "/";
  return {
    calls: {
      openat2: "the root as PID 1 reaches it now (the prepared root until it is entered); then the path inside it: a symlink swapped in cannot lead out of the root",
      ...(root ? { mount_setattr: "the root mount only: /proc, /dev, /tmp stay as they are" } : { open_tree: `a mount of its own for ${op.path}`, mount_setattr: "keeps nosuid, nodev, noexec" }),
    },
  };
}

/** `ctr explain`'s comments on mask's derived lines. */
export function maskNotes(op: Op): ExplainNotes {
  if (op.kind !== "mask") return {};
  return { calls: { openat2: "the root as PID 1 reaches it now (the prepared root until it is entered); then the path inside it", open_tree: "the host's /dev/null, from PID 1's copy of the host's tree" } };
}
