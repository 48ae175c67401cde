// native/sys.ts — the typed wrappers over the libc calls ctr makes, and the trace hook.
//
// The wrappers live in one file per area, all built from the helpers in trace.ts (which
// also states their conventions: SysError on failure, no retries, tracing):
//
// trace.ts  setTrace/getTrace/formatTraceEvent, and the shared call helpers (not exported)
// ns.ts     unshare, setns, mount, umount2, pivotRoot, chroot, chdir, mknod, UTS names
// proc.ts   execve, waitpid/waitid, kill, ids, setsid/setpgid, spawnProcess, signal masks,
//           pidfdOpen, pollReadable, peerHungUp
// fd.ts     close, dup, pipe2, sockets, read/write, fcntl, open, umask, ioctl, tty
// at.ts     openat, mkdirat, unlinkat, statx, getdents64, fchmod: names resolved from a directory fd
// caps.ts   prctl, capabilities, seccomp, rlimits
// mountapi.ts  open_tree, move_mount, fsopen/fsconfig/fsmount, openat2
// xattr.ts  lsetxattr, lgetxattr

export { setTrace, getTrace, formatTraceEvent, type TraceEvent, type TraceFn } from "./trace.ts";
export * from "./ns.ts";
export * from "./proc.ts";
export * from "./fd.ts";
export * from "./at.ts";
export * from "./caps.ts";
export * from "./mountapi.ts";
export * from "./xattr.ts";
