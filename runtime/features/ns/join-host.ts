// The host's part of `join` (the rules are in join.ts's header): find the
// running container NAME by its record (runtime/features/lifecycle/store.ts)
// and refuse, before anything is made, what cannot work: no such container, one
// that is not running, a namespace it does not have of its own (it shares the
// host's: joining it would put this container in the host's), and, for an
// ordinary user, joining without the container's user namespace (setns into
// the others needs CAP_SYS_ADMIN in the caller's own user namespace).

import type { NsName, Span } from "../../../lang/spec.ts";
import { SysError } from "../../../native/error.ts";
import type { JoinTarget } from "../../channel/messages.ts";
import { sameProcess } from "../lifecycle/procstat.ts";
import { readState } from "../lifecycle/store.ts";
import { orderNamespaces } from "./ns.ts";

const refuse = (message: string, span: Span | undefined, hint?: string): never => {
  throw new SysError({ message, hint, span, status: 125 });
};

/** The PID 1 of the running container `name` and the namespaces of it to join. */
export function resolveJoin(name: string, namespaces: readonly NsName[], span?: Span): JoinTarget {
  const s = readState(name);
  if (!s) return refuse(`join: no such container: ${name}`, span, "`ctr ps` lists the running ones; start it first, e.g. ctr -d --name NAME FILE.ctr");
  if (s.status !== "running" || !sameProcess(s.supervisor) || !s.pid1 || !sameProcess(s.pid1)) {
    return refuse(`join: container ${name} is not running (${s.status === "running" ? "gone" : s.status})`, span, "`ctr ps -a` shows how it ended; start a new one to join");
  }
  const own = new Set(s.namespaces);
  const shared = namespaces.filter((n) => !own.has(n));
  if (shared.length > 0) {
    refuse(`join: container ${name} has no ${shared.map((n) => `\`${n}\``).join(", ")} namespace of its own (it shares the host's)`, span, `join only what it was made with: ${s.namespaces.join(", ") || "nothing"}`);
  }
  if ((process.geteuid?.() ?? 0) !== 0 && !namespaces.includes("user")) {
    refuse(`join: joining container ${name}'s namespaces needs root, or its user namespace joined first`, span, own.has("user") ? `add \`user\` to the join: join ${name} ${["user", ...namespaces].join(", ")}` : "run ctr as root");
  }
  return { name, pid: s.pid1.pid, start: s.pid1.start, namespaces: orderNamespaces(namespaces) };
}
