// native/mountapi.ts — the file-descriptor based mount API (Linux >= 5.2) and openat2 (5.6).
//
// open_tree(OPEN_TREE_CLONE) makes a detached copy of a mount tree, held by a file
// descriptor; move_mount attaches such a tree (or a new filesystem from fsmount) at a
// path. fsopen/fsconfig/fsmount build a filesystem from parameters, some of which may be
// file descriptors (overlayfs layers, Linux >= 6.13). openat2(RESOLVE_IN_ROOT) resolves a
// path as if the directory fd were the root. Conventions (errors, tracing) are in trace.ts.

import { AT_FDCWD } from "./constants.ts";
import { C } from "./libc.ts";
import { en, int, sysno, t0 } from "./trace.ts";

/** open_tree(2): an fd for the mount at `path` (relative to `dirfd`); OPEN_TREE_CLONE: a detached copy. */
export function openTree(dirfd: number, path: string, flags: number): number {
  const s = t0();
  const r = Number(C.syscall(sysno("open_tree"), "int", dirfd, "const char *", path, "unsigned int", flags >>> 0));
  return int("open_tree", r, en(r), [dirfd, path, flags], s);
}

/** move_mount(2): attach the mount `fromFd` refers to (with MOVE_MOUNT_F_EMPTY_PATH) at `toPath`. */
export function moveMount(fromFd: number, fromPath: string, toPath: string, flags: number, toDirfd = AT_FDCWD): void {
  const s = t0();
  const r = Number(C.syscall(sysno("move_mount"), "int", fromFd, "const char *", fromPath, "int", toDirfd, "const char *", toPath, "unsigned int", flags >>> 0));
  int("move_mount", r, en(r), [fromFd, fromPath, toDirfd, toPath, flags], s);
}

/** fsopen(2): a filesystem context for `fstype`, configured with fsconfig. */
export function fsopen(fstype: string, flags: number): number {
  const s = t0();
  const r = Number(C.syscall(sysno("fsopen"), "const char *", fstype, "unsigned int", flags >>> 0));
  return int("fsopen", r, en(r), [fstype, flags], s);
}

/**
 * fsconfig(2): set one parameter of a filesystem context. `value` is a string
 * (FSCONFIG_SET_STRING), null (commands); `aux` is the fd for FSCONFIG_SET_FD.
 */
export function fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux = 0): void {
  const s = t0();
  const r = Number(C.syscall(sysno("fsconfig"), "int", fd, "unsigned int", cmd, "const char *", key, "const char *", value, "int", aux));
  int("fsconfig", r, en(r), [fd, cmd, key, value, aux], s);
}

/** fsmount(2): a detached mount of the filesystem an fsopen context created. */
export function fsmount(fd: number, flags: number, attrFlags = 0): number {
  const s = t0();
  const r = Number(C.syscall(sysno("fsmount"), "int", fd, "unsigned int", flags >>> 0, "unsigned int", attrFlags >>> 0));
  return int("fsmount", r, en(r), [fd, flags, attrFlags], s);
}

/** openat2(2) with `struct open_how { flags, mode, resolve }`. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const s = t0();
  const how = new BigUint64Array([BigInt(flags >>> 0), BigInt(mode >>> 0), BigInt(resolve >>> 0)]);
  const bytes = new Uint8Array(how.buffer);
  const r = Number(C.syscall(sysno("openat2"), "int", dirfd, "const char *", path, "void *", bytes, "size_t", bytes.length));
  return int("openat2", r, en(r), [dirfd, path, flags, resolve], s);
}

/**
 * mount_setattr(2) (Linux 5.12): set and clear MOUNT_ATTR_* bits of the mount at `path`
 * (with AT_EMPTY_PATH, of the fd `dirfd`; with AT_RECURSIVE, of every mount below too),
 * leaving the other bits as they are: unlike a MS_REMOUNT, nosuid/nodev/noexec stay.
 */
export function mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr = 0): void {
  const s = t0();
  // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
  const attr = new BigUint64Array([BigInt(attrSet >>> 0), BigInt(attrClr >>> 0), 0n, 0n]);
  const bytes = new Uint8Array(attr.buffer);
  const r = Number(C.syscall(sysno("mount_setattr"), "int", dirfd, "const char *", path, "unsigned int", flags >>> 0, "void *", bytes, "size_t", bytes.length));
  int("mount_setattr", r, en(r), [dirfd, path, flags, attrSet, attrClr], s);
}
