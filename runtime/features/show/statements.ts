// `show`: what the kernel says now about the container.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { bound } from "../../plan.ts";
import { planShowCgroup } from "../cgroup/plan.ts";
import { defineStatement } from "../../statement.ts";
import type { Op } from "../../ops.ts";

export const showStatement = defineStatement({
  name: "show",
  summary: "Print what the kernel says now: namespaces, mounts, processes, cgroup, id maps, the root's layers, the security of the next command, or the network.",
  syntax: "show ns|mounts|procs|cgroup|ids|layers|security|net",
  example: "show ns",
  plan: (cmd, ctx) => {
    if (bound(cmd).form === "cgroup") return planShowCgroup(cmd, ctx);
    if (bound(cmd).form === "net") return [{ kind: "show-net", side: "pid1" }];
    if (bound(cmd).form === "security") return [{ kind: "show-security", side: "pid1" }];
    return [{ kind: "show", what: bound(cmd).form as "ns" | "mounts" | "procs" | "ids" | "layers", side: "host" }];
  },
  side: "host",
  forms: {
    ns: { summary: "The namespaces of the container next to the host's.", syntax: "show ns", example: "show ns" },
    mounts: { summary: "The container's mount table.", syntax: "show mounts", example: "show mounts" },
    procs: { summary: "The processes the container can see, with their PIDs inside and outside.", syntax: "show procs", example: "show procs" },
    cgroup: { summary: "The container's cgroup, its limits and usage.", syntax: "show cgroup", example: "show cgroup" },
    ids: { summary: "The uid and gid maps of the container's user namespace.", syntax: "show ids", example: "show ids" },
    layers: { summary: "The layers of the container's root: lower (each with its digest and size), upper and work directories, and the whiteouts in the upper one.", syntax: "show layers", example: "show layers" },
    security: { summary: "What the next command gets: uid/gid and groups, capability sets, no_new_privs, seccomp, rlimits.", syntax: "show security", example: "show security", side: "pid1" },
    net: { summary: "The links, IPv4 addresses and main-table routes of the container's network namespace, as PID 1 dumps them over rtnetlink, next to the host's ends of its links (and their bridges) as ctr dumps them; each half names its namespace.", syntax: "show net", example: "show net", side: "pid1" },
  },
});

/** `ctr explain`'s comments on `show`: ctr's own reads of the kernel's files (not through the seam). */
export function showNotes(op: Op): { before?: string[]; after?: string[] } {
  if (op.kind === "show-security") return { before: ["PID 1 reports the process spec of the next command: ids, capability sets, no_new_privs, seccomp, rlimits"] };
  if (op.kind === "show-net") return { after: ["from PID 1, in its network namespace; the main table's routes are printed"] };
  if (op.kind !== "show") return {};
  const src = {
    ns: "/proc/PID1/ns/* next to /proc/self/ns/*",
    mounts: "/proc/PID1/mountinfo",
    procs: "/proc/*/ns/pid and /proc/*/status (NSpid)",
    ids: "/proc/PID1/status (Uid, Gid, Cap*), /proc/PID1/uid_map and gid_map",
    layers: "/proc/PID1/mountinfo (the root's overlay: lowerdir+, upperdir, workdir), each layer's layer.json, the upper directory's whiteouts",
  }[op.what];
  return { before: [`ctr reads ${src}`] };
}
