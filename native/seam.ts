// native/seam.ts — the one interface PID 1's executors and the host's kernel-file writes
// call the kernel through, and its real implementation.
//
// runtime/ code that changes the container (mounts, the root, UTS names, device nodes,
// directories and symlinks in the root, /proc/PID/uid_map, cgroupfs files) takes a `Sys`
// instead of importing the wrappers, so a test can hand it native/recording.ts's
// RecordingSys: the executors then run without root and the test reads which calls they
// made, in order. `realSys` is the wrappers of ns.ts, mountapi.ts and fd.ts as they are,
// plus node:fs for the file operations the executors always made through it (same calls,
// same errors as before the seam): this file adds no behaviour.
//
// Names in the comments are the names a recorder gives each call (native/recording.ts):
// the C call's, as the trace and formatCall use them, or a plain name where node:fs
// makes several calls (mkdirp, exists).
//
// Importing this file does not load koffi (the wrappers load it on their first call).

import { chdir, chroot, mknod, mount, pivotRoot, sethostname, setdomainname, umount2 } from "./ns.ts";
import { fsconfig, fsmount, fsopen, moveMount, openat2, openTree } from "./mountapi.ts";
import { close, read } from "./fd.ts";
import { realFiles } from "./files.ts";
import { netlinkDump, netlinkExchange } from "./netlink.ts";

/** What the executors ask of a file: its kind (node:fs Stats has these). */
export interface FileKind {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** The calls that change a container, and the few look-ups the executors make before them. */
export interface Sys {
  // mounts, the root, UTS names, device nodes (native/ns.ts)
  /** mount(2). */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2). */
  umount2(target: string, flags: number): void;
  /** pivot_root(2). */
  pivotRoot(newRoot: string, putOld: string): void;
  /** chroot(2). */
  chroot(path: string): void;
  /** chdir(2). */
  chdir(path: string): void;
  /** sethostname(2). */
  sethostname(name: string): void;
  /** setdomainname(2). */
  setdomainname(name: string): void;
  /** mknod(2). */
  mknod(path: string, mode: number, dev: number | bigint): void;

  // the fd-based mount API and file descriptors (native/mountapi.ts, native/fd.ts)
  /** open_tree(2). */
  openTree(dirfd: number, path: string, flags: number): number;
  /** move_mount(2) (to a path relative to the working directory). */
  moveMount(fromFd: number, fromPath: string, toPath: string, flags: number): void;
  /** fsopen(2). */
  fsopen(fstype: string, flags: number): number;
  /** fsconfig(2). */
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux?: number): void;
  /** fsmount(2). */
  fsmount(fd: number, flags: number, attrFlags: number): number;
  /** openat2(2). */
  openat2(dirfd: number, path: string, flags: number, resolve: number): number;
  /** read(2). */
  read(fd: number, buf: Uint8Array): number;
  /** close(2). */
  close(fd: number): void;

  // files (node:fs)
  /** Whether anything is at `path` (following symlinks). Recorded as "exists". */
  exists(path: string): boolean;
  /** lstat(2); throws when nothing is there. */
  lstat(path: string): FileKind;
  /** stat(2); throws when nothing is there. */
  stat(path: string): FileKind;
  /** fstat(2). */
  fstat(fd: number): FileKind;
  /** readlink(2). */
  readlink(path: string): string;
  /** mkdir(2), mode 0777 less the umask. */
  mkdir(path: string): void;
  /** mkdir -p: `path` and any missing parent. Recorded as "mkdirp". */
  mkdirp(path: string): void;
  /** An empty file if none is there (open(O_WRONLY|O_CREAT|O_APPEND, 0666), then close). Recorded as "open". */
  createFile(path: string): void;
  /** symlink(2): a link at `path` to `target`. */
  symlink(target: string, path: string): void;
  /** chmod(2). */
  chmod(path: string, mode: number): void;
  /** The whole of `text` to the file at `path` (a kernel file: /proc/PID/uid_map, cgroupfs). Recorded as "write". */
  writeFile(path: string, text: string): void;

  // netlink (native/netlink.ts)
  /** One request on a new netlink socket of `protocol` and the kernel's answer (one datagram). Recorded as "netlink". */
  netlink(protocol: number, request: Uint8Array): Uint8Array;
  /** A dump request (NLM_F_DUMP) and every datagram of its answer up to NLMSG_DONE, joined. Recorded as "netlink-dump". */
  netlinkDump(protocol: number, request: Uint8Array): Uint8Array;
}

/** The kernel, through the wrappers (koffi) and node:fs. */
export const realSys: Sys = {
  mount,
  umount2,
  pivotRoot,
  chroot,
  chdir,
  sethostname,
  setdomainname,
  mknod,
  openTree,
  moveMount: (fromFd, fromPath, toPath, flags) => moveMount(fromFd, fromPath, toPath, flags),
  fsopen,
  fsconfig,
  fsmount,
  openat2: (dirfd, path, flags, resolve) => openat2(dirfd, path, flags, resolve),
  read,
  close,
  netlink: (protocol, request) => netlinkExchange(protocol, request),
  netlinkDump: (protocol, request) => netlinkDump(protocol, request),
  ...realFiles,
};
