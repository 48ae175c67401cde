// The note on a teaching container: a script whose commands run as the host's root with
// every capability and no seccomp filter (no user namespace, no `cap`, `seccomp` or
// non-root `user`) gets one line from `ctr check` and when it runs, printed by the CLI.
// Namespaces hide names, not power: such a process can still mount, write /proc/sys and
// /sys, make device nodes and load a new cgroup, and so change the host (the escape suite,
// test/security/escape.test.ts, lists what gets through). It is a note, not an error:
// the examples do this on purpose, to show each primitive with nothing in the way.
//
// Silenced by any of: `import "std/docker"` + `docker_security` (a sandbox), a `cap` or
// `seccomp` statement, `user` with a non-root user (or an image whose User is one), `ns user`; or, for a teaching session,
// CTR_TEACHING=1 in ctr's environment.

import type { Plan } from "../../ops.ts";

export const TEACHING_ENV = "CTR_TEACHING";

const ROOT_NAMES = new Set(["0", "root"]);

/** The note's text for this plan, or null when the container is not root with every capability. */
export function hostPowerNote(plan: Plan, env: Record<string, string | undefined>): string | null {
  if (env[TEACHING_ENV] === "1") return null;
  if (plan.namespaces.includes("user")) return null;
  // A joined user namespace (`join NAME user`) is the running container's: not the host's root either.
  if (plan.ops.some((o) => o.kind === "join" && o.namespaces.includes("user"))) return null;
  if (!plan.ops.some((o) => o.kind === "unshare")) return null;
  // Who runs each command: root until a non-root `user`, or an image's User when no
  // `user` came before its `rootfs image` (runtime/features/image/root.ts); a later `user 0` is root again.
  let root = true;
  let userSet = false;
  let rootCommand = false;
  let commands = 0;
  for (const op of plan.ops) {
    if (op.kind === "cap" || op.kind === "seccomp") return null;
    if (op.kind === "user") {
      userSet = true;
      root = ROOT_NAMES.has(op.user.user);
    }
    if (op.kind === "rootfs" && op.image?.user && !userSet) root = false;
    if (op.kind === "run" || op.kind === "exec") {
      commands++;
      if (root) rootCommand = true;
    }
  }
  // No command: PID 1 ends as the default shell, as the user in force then.
  if (!(commands === 0 ? root : rootCommand)) return null;
  return `note: the container runs as root with every capability and no seccomp filter: it can change the host through the kernel interfaces it can reach (mounts, /proc/sys, /sys, devices, cgroups); for a sandbox add \`import "std/docker"\` and \`docker_security\`; for a teaching session set ${TEACHING_ENV}=1`;
}
