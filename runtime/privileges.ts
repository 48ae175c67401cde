// What an unprivileged caller cannot do, said before anything is made, in the
// same words for a script (runtime/execute.ts) and the REPL (runtime/repl-engine.ts):
// without a user namespace, creating namespaces needs CAP_SYS_ADMIN on the
// host; cgroups belong to root unless one was delegated to the caller.

import { accessSync, constants } from "node:fs";
import type { NsName, Span } from "../lang/spec.ts";
import { SysError } from "../native/error.ts";
import { callerDir, hierarchyOf, machineCgroups } from "./features/cgroup/detect.ts";
import { unprivilegedUsernsBlocker } from "./features/userns/userns.ts";

const isRoot = (): boolean => (process.geteuid?.() ?? 0) === 0;

/** Refuse namespaces an ordinary user cannot create, naming the fix. */
export function checkNamespacePrivileges(namespaces: readonly NsName[], span?: Span): void {
  if (isRoot() || namespaces.length === 0) return;
  if (!namespaces.includes("user")) {
    throw new SysError({ code: "EPERM", message: "creating namespaces needs root", hint: "add `user` to the `ns` statement to run without root (rootless), or run ctr as root", span, status: 125 });
  }
  const blocker = unprivilegedUsernsBlocker();
  if (blocker) {
    throw new SysError({ code: "EPERM", message: `this machine forbids unprivileged user namespaces: ${blocker}`, hint: "ask an administrator to allow them, or run ctr as root", span, status: 125 });
  }
}

/** Refuse cgroups (`limit`, `show cgroup`) an ordinary user has not been delegated. */
export function checkCgroupPrivileges(controller: string, span?: Span, what = "`limit`"): void {
  if (isRoot()) return;
  const h = hierarchyOf(machineCgroups(), (controller === "cpu" ? "cpu" : controller) as Parameters<typeof hierarchyOf>[1]);
  const dir = h ? callerDir(h) : null;
  if (dir && !writable(dir)) {
    throw new SysError({ code: "EACCES", message: `${what} needs a cgroup delegated to you, but ${dir} is not writable`, hint: "run ctr as root, or in a delegated cgroup (systemd: systemd-run --user --scope -p Delegate=yes ctr ...)", span, status: 125 });
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
