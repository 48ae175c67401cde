// native/index.ts — the public face of native/: koffi bindings for the rest of ctr.
//
//   import { unshare, CLONE_NEWUTS, SysError, setTrace, formatCall } from "./index.ts";
//
// constants.ts  CLONE_*, MS_*, MNT_*, PR_*, RLIMIT_*, SIG*, O_*, S_IF*, W*, CAP_*, SYS, name tables
// error.ts      SysError (the project's one error type), errnoName, strerror, errnoNumber
// format.ts     flagNames, enumName, formatCall: strace-like rendering shared with `ctr explain`
// sys.ts        the typed wrappers (throw SysError on failure) and the trace hook, gathered
//               from ns.ts, proc.ts, fd.ts, at.ts, caps.ts and trace.ts (their shared helpers)
// seam.ts       Sys: the one interface executors call the kernel through, and realSys
//               (recording.ts, its test double RecordingSys, is imported by tests directly)
// libc.ts       koffi/libc loading (lazy) and C prototypes; only preload()/isLoaded() leave native/
//
// Importing this file does not load koffi; the first wrapper call does (~3 ms).

export * from "./constants.ts";
export * from "./error.ts";
export * from "./format.ts";
export * from "./sys.ts";
export { realSys, type Sys, type FileKind } from "./seam.ts";
export { preload, isLoaded } from "./libc.ts";
export * from "./scm.ts"; // sendFds/recvFds: fds over a unix socket (SCM_RIGHTS)
