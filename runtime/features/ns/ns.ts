// Namespaces: what a process sees of the system.
//
// Each namespace type isolates one kind of global resource (host names, SysV IPC,
// PIDs, mount tables, network stack, users, cgroup root, clocks). unshare(2) moves
// the caller into new namespaces; the rules that shape ctr's init stages:
//   - the user namespace must be created first (or together): it owns the others;
//     unshare(CLONE_NEWUSER) fails with EINVAL in a multi-threaded process;
//   - CLONE_NEWPID and CLONE_NEWTIME affect only children created afterwards, so
//     the process that unshares (stage 1) must spawn PID 1 (stage 2);
//   - the other namespaces apply to the caller at once, and Bun.spawn children
//     inherit them.
// `show ns` compares /proc/PID/ns/* links of PID 1 with the host's (chapters 02-05).

import { readlinkSync } from "node:fs";
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS } from "../../../native/constants.ts";
import type { NsName } from "../../../lang/spec.ts";

/** Kernel flag for each `ns` name. */
export const NS_FLAG: Record<NsName, number> = {
  user: CLONE_NEWUSER,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  pid: CLONE_NEWPID,
  mnt: CLONE_NEWNS,
  net: CLONE_NEWNET,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** The entry name under /proc/PID/ns/ for each `ns` name. */
export const NS_PROC_NAME: Record<NsName, string> = {
  user: "user",
  uts: "uts",
  ipc: "ipc",
  pid: "pid",
  mnt: "mnt",
  net: "net",
  cgroup: "cgroup",
  time: "time",
};

// The user namespace first: it must own the namespaces created with it.
const ORDER: NsName[] = ["user", "mnt", "uts", "ipc", "net", "pid", "cgroup", "time"];

export function orderNamespaces(ns: Iterable<NsName>): NsName[] {
  const set = new Set(ns);
  return ORDER.filter((n) => set.has(n));
}

export function cloneFlags(ns: readonly NsName[]): number {
  return ns.reduce((f, n) => f | NS_FLAG[n], 0);
}

/** The namespace links of a process, e.g. {uts: "uts:[4026531838]"}. */
export function namespaceLinks(pid: number | "self"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of ORDER) {
    try {
      out[n] = readlinkSync(`/proc/${pid}/ns/${NS_PROC_NAME[n]}`);
    } catch {
      // a kernel without this namespace type
    }
  }
  return out;
}
