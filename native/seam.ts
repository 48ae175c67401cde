// native/seam.ts — the one interface PID 1's executors, stage 1 and the host's kernel-file
// writes call the kernel through, and its real implementation.
//
// runtime/ code that changes the container (mounts, the root, UTS names, device nodes,
// directories and symlinks in the root (by path, or from a descriptor: the *at calls), /proc/PID/uid_map, cgroupfs files and directories,
// unshare and the ids stage 1 takes, a command's rlimits, no_new_privs and execve) takes a `Sys`
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

import { chdir, chroot, fchdir, mknod, mount, pivotRoot, setns, sethostname, setdomainname, umount2, unshare } from "./ns.ts";
import { fsconfig, fsmount, fsopen, moveMount, mountSetattr, openat2, openTree } from "./mountapi.ts";
import { close, read } from "./fd.ts";
import { fchmodat, fchownat, mkdirat, mknodat, openat, readlinkat, symlinkat } from "./at.ts";
import { realFiles } from "./files.ts";
import { netlinkDump, netlinkExchange } from "./netlink.ts";
import { bpfProgAttach, bpfProgLoad } from "./bpf.ts";
import { capget, capset, prctl, setrlimit, type CapSets } from "./caps.ts";
import { execve, resetSignals, setgroups, setresgid, setresuid } from "./proc.ts";
import { loadSeccompRules, type SeccompRules } from "./seccomp.ts";

/** What the executors ask of a file: its kind (node:fs Stats has these). */
export interface FileKind {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** One entry of a directory: its name and kind (node:fs Dirent has these). */
export interface DirEntry extends FileKind {
  name: string;
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
  /** setns(2): join the namespace an open /proc/PID/ns/* file refers to (`ctr exec`). */
  setns(fd: number, nstype: number): void;
  /** fchdir(2). */
  fchdir(fd: number): void;

  // the fd-based mount API and file descriptors (native/mountapi.ts, native/fd.ts)
  /** open_tree(2). */
  openTree(dirfd: number, path: string, flags: number): number;
  /** move_mount(2) (to a path relative to the working directory, or to `toDirfd`: MOVE_MOUNT_T_EMPTY_PATH with toPath ""). */
  moveMount(fromFd: number, fromPath: string, toPath: string, flags: number, toDirfd?: number): void;
  /** mount_setattr(2). */
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr?: number): void;
  /** fsopen(2). */
  fsopen(fstype: string, flags: number): number;
  /** fsconfig(2). */
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux?: number): void;
  /** fsmount(2). */
  fsmount(fd: number, flags: number, attrFlags: number): number;
  /** openat2(2). */
  openat2(dirfd: number, path: string, flags: number, resolve: number): number;
  /** openat(2). */
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  /** mkdirat(2), the mode less the umask. */
  mkdirat(dirfd: number, path: string, mode: number): void;
  /** mknodat(2), the mode less the umask. */
  mknodat(dirfd: number, path: string, mode: number, dev: number | bigint): void;
  /** symlinkat(2): a link `path` in `dirfd` to `target`. */
  symlinkat(target: string, dirfd: number, path: string): void;
  /** readlinkat(2) (a look-up). */
  readlinkat(dirfd: number, path: string): string;
  /** fchmodat(2); `flags` AT_SYMLINK_NOFOLLOW: fails (EOPNOTSUPP) on a symlink rather than follow it. */
  fchmodat(dirfd: number, path: string, mode: number, flags?: number): void;
  /** fchownat(2). */
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void;
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
  /** mkdir(2), `mode` (default 0777) less the umask. */
  mkdir(path: string, mode?: number): void;
  /** mkdir -p: `path` and any missing parent. Recorded as "mkdirp". */
  mkdirp(path: string): void;
  /** An empty file if none is there (open(O_WRONLY|O_CREAT|O_APPEND, 0666), then close). Recorded as "open". */
  createFile(path: string): void;
  /** symlink(2): a link at `path` to `target`. */
  symlink(target: string, path: string): void;
  /** chmod(2). */
  chmod(path: string, mode: number): void;
  /** The whole of `text` to the existing file at `path` in one write(2) (a kernel file: /proc/PID/uid_map, cgroupfs). Recorded as "write". */
  writeFile(path: string, text: string): void;
  /** The text of the file at `path` (UTF-8). Recorded as "readFile", a look-up. */
  readFile(path: string): string;
  /** The entries of the directory at `path`. Recorded as "readdir", a look-up. */
  readdir(path: string): DirEntry[];
  /** rmdir(2). */
  rmdir(path: string): void;
  /** open(2) (close-on-exec, as node:fs opens). */
  open(path: string, flags: number): number;
  /** write(2) of `text` to `fd`. */
  write(fd: number, text: string): number;
  /** pread(2) into `buf` at `offset`. */
  pread(fd: number, buf: Uint8Array, offset: number): number;
  /** pwrite(2) of `text` at `offset`. */
  pwrite(fd: number, text: string, offset: number): number;

  // namespaces and ids (stage 1: native/ns.ts, native/proc.ts)
  /** unshare(2). */
  unshare(flags: number): void;
  /** setgroups(2). */
  setgroups(groups: readonly number[]): void;
  /** setresgid(2). */
  setresgid(rgid: number, egid: number, sgid: number): void;
  /** setresuid(2). */
  setresuid(ruid: number, euid: number, suid: number): void;

  // a command's process (runtime/features/process/spec.ts: native/caps.ts, native/proc.ts)
  /** setrlimit(2); RLIM_INFINITY for unlimited. */
  setrlimit(resource: number, soft: bigint, hard: bigint): void;
  /** Every signal's action back to its default, the mask emptied (signal(2) each, sigprocmask(2)). Recorded as "resetSignals". */
  resetSignals(): void;
  /** execve(2): returns only by throwing. */
  execve(path: string, argv: readonly string[], envp: readonly string[]): never;

  // bpf (native/bpf.ts)
  /** bpf(BPF_PROG_LOAD): a program's fd. Recorded as "bpf". */
  bpfProgLoad(progType: number, insns: Uint8Array, license: string): number;
  /** bpf(BPF_PROG_ATTACH). Recorded as "bpf". */
  bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags: number): void;

  // netlink (native/netlink.ts)
  /** One request on a new netlink socket of `protocol` and the kernel's answer (one datagram). Recorded as "netlink". */
  netlink(protocol: number, request: Uint8Array): Uint8Array;

  // a command's privileges: the steps of its ProcessSpec (native/caps.ts, proc.ts, seccomp.ts;
  // setgroups, setresgid and setresuid are above)
  /** prctl(2) with numeric arguments. */
  prctl(option: number, arg2?: number, arg3?: number): number;
  /** capget(2) of the calling thread (a look-up). */
  capget(): CapSets;
  /** capset(2) of the calling thread. */
  capset(sets: CapSets): void;
  /** A filter built by libseccomp from `rules` and loaded on this thread. Recorded as "seccomp_load". */
  seccompLoad(rules: SeccompRules): void;
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
  setns,
  fchdir,
  openTree,
  moveMount: (fromFd, fromPath, toPath, flags, toDirfd) => moveMount(fromFd, fromPath, toPath, flags, toDirfd),
  mountSetattr: (dirfd, path, flags, attrSet, attrClr) => mountSetattr(dirfd, path, flags, attrSet, attrClr),
  fsopen,
  fsconfig,
  fsmount,
  openat2: (dirfd, path, flags, resolve) => openat2(dirfd, path, flags, resolve),
  openat: (dirfd, path, flags, mode) => openat(dirfd, path, flags, mode),
  mkdirat,
  mknodat,
  symlinkat,
  readlinkat,
  fchmodat: (dirfd, path, mode, flags) => fchmodat(dirfd, path, mode, flags),
  fchownat: (dirfd, path, uid, gid, flags) => fchownat(dirfd, path, uid, gid, flags),
  read,
  close,
  bpfProgLoad,
  bpfProgAttach,
  netlink: (protocol, request) => netlinkExchange(protocol, request),
  prctl: (option, arg2 = 0, arg3 = 0) => prctl(option, arg2, arg3),
  capget: () => capget(),
  capset,
  setgroups,
  setresgid,
  setresuid,
  seccompLoad: loadSeccompRules,
  unshare,
  setrlimit,
  resetSignals,
  execve,
  netlinkDump: (protocol, request) => netlinkDump(protocol, request),
  ...realFiles,
};
