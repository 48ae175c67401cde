// `join NAME NS[, NS...]`: a new container that shares some namespaces of the
// running container NAME and makes the rest new (`ns`), as `docker run
// --network container:NAME` or `--pid container:NAME` do (chapter 13: setns(2)
// through /proc/PID/ns/*). The kernel's rules, and what they make of ctr's stages:
//   - setns(2) of a descriptor of /proc/PID/ns/X moves the caller into X. The
//     descriptors are taken from the container's PID 1, held by a pidfd opened
//     before its start time is checked (runtime/features/lifecycle/procstat.ts)
//     and checked again once every descriptor is open: a reused PID never lends
//     its namespaces. All are opened before any is joined.
//   - The user namespace first: it owns the others, and joining it gives every
//     capability inside it, which setns into the others and the unshare of the
//     rest need (setns of a uts, ipc, net, pid, cgroup or time namespace asks for
//     CAP_SYS_ADMIN in the caller's own user namespace too, so an ordinary user
//     must join the container's user namespace first). setns(CLONE_NEWUSER), like
//     unshare, needs a single-threaded process: stage 1 is one. Once inside, the
//     new container is root there (as with `ns user`), or has PID 1's ids where
//     root is not mapped.
//   - CLONE_NEWPID moves only the caller's later children: stage 2 is born in
//     the joined PID namespace as an ordinary process of it, not its init (the
//     container's own PID 1 stays init). When that init dies, the kernel kills
//     every process of the namespace, ours too. Our orphans are re-parented to
//     that init, not to stage 1 (a subreaper of another PID namespace is passed
//     over), so the tracking cgroup (runtime/features/cgroup/when.ts: no `ns pid`
//     of our own) is what ends them: at the teardown, or by stage 1 if ctr dies
//     (joined.ts, killMembers). Without one (an ordinary user with no delegated
//     cgroup) a PID namespace is not joined (runtime/session.ts, joinHook).
//   - CLONE_NEWNS sets root and working directory to the namespace's root; a
//     container whose root was entered with chroot has another root, so
//     /proc/PID/root is entered after it. Stage 1 cannot do this one: stage 2 is
//     the host's Bun (executable, libraries, the init bundle), out of reach from
//     the container's root. Stage 1 opens both descriptors and stage 2 inherits
//     them and joins first thing, while it is still single-threaded (setns into a
//     mount namespace is EINVAL otherwise).
// What the script may not do with a joined namespace (joinRules, before
// anything runs): create it too; change what belongs to the other container
// (its mounts, network, hostname, id maps). The host's and the stages' parts
// are in joined.ts.

import type { Diagnostic, NsName, Span } from "../../../lang/spec.ts";
import { traitsOf, type Op } from "../../ops.ts";

type JoinOp = Extract<Op, { kind: "join" }>;

const at = (s: Span) => `${s.line}:${s.column}`;

/** The statements that would change what belongs to the container whose namespace is joined. */
const OWNED: { ns: NsName; what: string; ops: (op: Op) => boolean; help: string }[] = [
  { ns: "mnt", what: "mounts", ops: (op) => traitsOf(op.kind).mounts === true, help: "create a mount namespace of its own instead: leave `mnt` out of the `join` and add it to `ns`" },
  { ns: "net", what: "network", ops: (op) => op.kind === "link-up" || op.kind === "net-addr" || op.kind === "net-route" || op.kind === "net-host", help: "leave `net` out of the `join` to make a network of its own" },
  { ns: "uts", what: "hostname", ops: (op) => op.kind === "hostname" || op.kind === "domainname", help: "leave `uts` out of the `join` and add it to `ns` to name this container" },
  { ns: "user", what: "id maps", ops: (op) => op.kind === "idmap", help: "a joined user namespace has its maps already: remove the `map`" },
];

/** The planner's rules for a plan with a `join` (see the header). */
export function joinRules(ops: readonly Op[], created: ReadonlySet<NsName>): Diagnostic[] {
  const join = ops.find((o): o is JoinOp => o.kind === "join");
  if (!join) return [];
  const out: Diagnostic[] = [];
  const both = join.namespaces.filter((n) => created.has(n));
  if (both.length > 0) {
    out.push({ severity: "error", span: join.span, message: `${both.map((n) => `\`${n}\``).join(", ")} both joined from ${join.name} and created by \`ns\``, help: "a namespace is either joined or new: list it in one of the two" });
  }
  for (const rule of OWNED) {
    if (!join.namespaces.includes(rule.ns)) continue;
    for (const op of ops) {
      if (!rule.ops(op)) continue;
      out.push({ severity: "error", span: op.span, message: `\`${op.source}\` would change container ${join.name}'s ${rule.what}: its ${rule.ns} namespace is joined at ${at(join.span)}`, help: rule.help });
    }
  }
  return out;
}

/** `ctr explain`'s comments on a `join` op's calls (runtime/explain-host.ts derives the calls from joined.ts). */
export function joinNotes(op: Op): { before?: string[]; calls?: Record<string, string>; after?: string[] } {
  if (op.kind !== "join") return {};
  return {
    before: [`TARGET is PID 1 of container ${op.name}: pinned by a pidfd, its start time checked against the record before and after the opens`],
    ...(op.namespaces.includes("mnt") ? { calls: { fchdir: "PID 1 (stage 2), first thing, still single-threaded: the joined mount namespace and the target's root" } } : {}),
    ...(op.namespaces.includes("pid") ? { after: ["PID 1 is born in that PID namespace as an ordinary process of it: the container's own PID 1 stays its init"] } : {}),
  };
}
