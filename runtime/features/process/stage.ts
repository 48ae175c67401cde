// Starting the exec stage from inside a container's root, and the stage
// entering that root (runtime/features/process/spec.ts says when a command
// needs the exec stage; runtime/init.ts "exec" is the stage).
//
// The exec stage is a fresh Bun (JavaScript cannot run after fork,
// docs/ARCHITECTURE.md "Why the stages"): its executable, its dynamic loader
// and libraries, ctr's init bundle, koffi's addon and libseccomp are host
// files, and once PID 1 has entered the new root (pivot_root or chroot) none
// of them is at its path any more. The ways considered:
//   1. keep descriptors of the loader, Bun and the library directory, and
//      start the loader itself (no PT_INTERP) through /proc/self/fd paths:
//      needs a /proc inside the container, still leaves Bun, the bundle,
//      koffi and libseccomp to find by path, and execveat is not something
//      Bun.spawn or posix_spawn can do;
//   2. a stage started before the root is entered, waiting for its spec: one
//      per `run`, and the next one could not be started later for the same
//      reason;
//   3. a small static helper applying the spec for a posix_spawned child:
//      C (or hand-made machine code) in a project that has none.
// What is done instead: PID 1 already keeps a detached copy of the host's
// mount tree (runtime/features/mount/hostmount.ts, for bind sources). For the
// spawn alone PID 1 makes that copy its root (fchdir + chroot(".")), so the
// new process is born with the host's root and finds everything it loads as
// it did before the root was entered, then PID 1 goes back to the container's
// root and working directory through descriptors it took first. The stage
// gets the container's root as its fd 4, loads what it needs (koffi when it
// starts, libseccomp if the spec has a filter), enters the root as `ctr exec`
// does (fchdir(4) + chroot("."), close(4)), and only then applies the spec:
// no host file is open or mapped, and no path of the host is reachable, once
// it execve()s the command. It costs what the exec stage costs anyway (one
// Bun start per `run`) plus nine system calls in PID 1: bench/exec-stage.ts
// measured 24.5 ms more per `run` than Bun.spawn inside a root, 23.9 ms
// before one. `ctr exec` starts the same stage the same way
// (runtime/features/lifecycle/enter.ts).
// The window: the stage runs with the host's root from its execve until it
// enters the container's root (its start-up, ~15 ms). It is non-dumpable
// from its first call on; before that, like PID 1 all along (which holds the
// copy of the host's tree), only a process with CAP_SYS_PTRACE over the
// container's user namespace, or one whose capabilities include all of the
// stage's, may ptrace it or open its /proc/PID/root: `cap drop` removes both.
// Everything the spawn runs synchronously, so no other JavaScript of PID 1
// runs while its root is the host's; if going back failed PID 1 would stop at
// once rather than serve the container with the host's root.

import { loadSeccomp } from "../../../native/seccomp.ts";
import { O_CLOEXEC, O_DIRECTORY, O_PATH, SysError, type Sys } from "../../../native/index.ts";
import { writeAll } from "../../fdio.ts";
import type { ProcessSpec } from "./spec.ts";

/** The exec stage's descriptor of the root it enters (argv "root"). */
export const STAGE_ROOT_FD = 4;

/**
 * Run `fn` with the host's tree (`hostTree`, a descriptor of it) as this
 * process's root, and come back: `fn` gets a descriptor of the root this
 * process had (the container's: the new process's fd 4). PID 1 uses it to
 * spawn the exec stage, and to open libseccomp for a `seccomp` after the root
 * is entered (runtime/features/security/security.ts).
 * (`ctr exec`'s stage passes a descriptor of the host's root it opened before
 * joining the container: runtime/features/lifecycle/enter.ts.)
 */
export function fromHostRoot<T>(sys: Sys, hostTree: number | undefined, fn: (rootFd: number) => T): T {
  if (hostTree === undefined || hostTree < 0) {
    throw new SysError({ errno: 2, code: "ENOENT", syscall: "chroot", args: [], message: "the host's files are out of reach inside this root: PID 1 has no copy of the host's mount tree", hint: "open_tree(2) needs Linux 5.2 or later; put the statement before the first command (the root is entered then)", status: 126 });
  }
  const root = sys.open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  let cwd = -1;
  try {
    cwd = sys.open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    sys.fchdir(hostTree);
    sys.chroot(".");
    try {
      return fn(root);
    } finally {
      try {
        sys.fchdir(root);
        sys.chroot(".");
        sys.fchdir(cwd);
      } catch (e) {
        writeAll(2, `ctr: could not return to the container's root from the host's (${(e as Error).message}); stopping\n`);
        process.exit(125);
      }
    }
  } finally {
    if (cwd >= 0) sys.close(cwd);
    sys.close(root);
  }
}

/**
 * In the exec stage, before the spec: load what the spec needs while the
 * host's files are in view, then make the container's root (fd 4) this
 * process's root and close it.
 */
export function enterStageRoot(sys: Sys, spec: ProcessSpec): void {
  if (spec.security.seccomp) loadSeccomp();
  sys.fchdir(STAGE_ROOT_FD);
  sys.chroot(".");
  sys.close(STAGE_ROOT_FD);
}
