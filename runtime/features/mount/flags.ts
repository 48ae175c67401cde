// The mount flags a statement may give, in one table: the word a script writes,
// the MS_* bit of mount(2), and the MOUNT_ATTR_* bit of fsmount(2) and
// mount_setattr(2). What each consumer needs is derived from it: the checker's
// flag words, the bits a plan sets, the bits a bind carries to its remount
// (MS_BIND ignores per-mount flags: only MS_BIND|MS_REMOUNT applies them), the
// attributes of a mount made with fsmount, and the names `explain` prints.
// Adding a flag is one line here.

import { MOUNT_ATTR_FLAGS, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MOUNT_ATTR_STRICTATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_STRICTATIME } from "../../../native/constants.ts";

interface MountFlag {
  word: string;
  /** The MS_* bit. */
  ms: number;
  /** The MOUNT_ATTR_* bit. */
  attr: number;
}

const TABLE: readonly MountFlag[] = [
  { word: "ro", ms: MS_RDONLY, attr: MOUNT_ATTR_RDONLY },
  { word: "nosuid", ms: MS_NOSUID, attr: MOUNT_ATTR_NOSUID },
  { word: "nodev", ms: MS_NODEV, attr: MOUNT_ATTR_NODEV },
  { word: "noexec", ms: MS_NOEXEC, attr: MOUNT_ATTR_NOEXEC },
];

/** The flag words every filesystem form takes (the registry adds form-specific ones: rw, rec). */
export const FS_FLAGS = TABLE.map((f) => f.word) as readonly string[];

/** The per-mount bits a bind must carry to its remount (all but MS_RDONLY, which `ro` says). */
export const REMOUNT_BITS = TABLE.filter((f) => f.word !== "ro").reduce((bits, f) => bits | f.ms, 0);

/** MOUNT_ATTR_* names for format.ts's flagNames. */
export const MOUNT_ATTR_NAMES = MOUNT_ATTR_FLAGS;

/** The MS_* bit of each flag word (flagBits runs once per mount: a lookup, not a search with a closure). */
const MS_BY_WORD = new Map(TABLE.map((f) => [f.word, f.ms]));

/**
 * `strictatime`: atime updated on every access (the kernel's default for a new
 * mount is relatime). Only for the filesystems ctr makes (tmpfs, dev), where
 * fsmount takes it as an attribute: on a bind's copy mount_setattr would have
 * to clear the whole atime field first, which no bind here needs.
 */
export const STRICTATIME = "strictatime";

/** The MS_* bits of the flag words given, on top of `base`; `ro` apart (a bind needs a remount for it). */
export function flagBits(words: Iterable<string>, base: number): { flags: number; ro: boolean } {
  let flags = base;
  let ro = false;
  for (const w of words) {
    if (w === "ro") ro = true;
    else if (w === STRICTATIME) flags |= MS_STRICTATIME;
    else flags |= MS_BY_WORD.get(w) ?? 0;
  }
  return { flags, ro };
}

/** The MOUNT_ATTR_* bits for the MS_* bits of `flags` (fsmount). */
export function mountAttrs(flags: number): number {
  return TABLE.reduce((attrs, f) => (flags & f.ms ? attrs | f.attr : attrs), flags & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME : 0);
}

/** The attributes of a `mask`'s tmpfs: nothing can be written, run or opened as a device there. */
export const MASK_ATTRS = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
