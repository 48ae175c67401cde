// The device policy: which device nodes the container's processes may create (mknod) and
// open for reading or writing, whatever nodes they find or make in their /dev.
//
// Kernel rules (Documentation/admin-guide/cgroup-v1/devices.rst, and the cgroup v2 device
// controller, which is a BPF program):
//   - A node is only a name for (type, major, minor): with CAP_MKNOD a container can make
//     one for the host's disk (b 8:0) and, without a policy, read and write the disk.
//     The check is on open(2) and mknod(2), not on the name.
//   - cgroup v1: a `devices` hierarchy; writing "a" to devices.deny of a cgroup with no
//     children denies everything, then each line written to devices.allow ("c 1:3 rwm",
//     "*" for any major or minor) allows one kind of access; a child can never get more
//     than its parent.
//   - cgroup v2 has no devices files: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
//     the cgroup answers each access (runtime/features/devices/bpf.ts).
//   - The default, as runc's: mknod of any node is allowed (images ship device nodes),
//     opening only what `mount dev` and devpts give: null, zero, full, random, urandom,
//     tty, console, ptmx and the pseudo-terminals. So a node made for the host's disk
//     exists but opening it fails with EPERM.
// Rules apply in order on top of the default: `allow` adds an access, `deny` takes back
// one that the default or an earlier `allow` gave. The result is a list of allowed
// accesses, the same for both versions.

/** One line of the policy, as the v1 files write it: type a (all), b or c; null major/minor is "*". */
export interface DeviceRule {
  type: "a" | "b" | "c";
  major: number | null;
  minor: number | null;
  /** Some of "rwm": read, write, mknod. */
  access: string;
}

const char = (major: number | null, minor: number | null, access = "rwm"): DeviceRule => ({ type: "c", major, minor, access });

/** What every container with a device policy may do before its own `device` lines. */
export const DEFAULT_DEVICES: readonly DeviceRule[] = [
  char(null, null, "m"),
  { type: "b", major: null, minor: null, access: "m" },
  char(1, 3), // null
  char(1, 5), // zero
  char(1, 7), // full
  char(1, 8), // random
  char(1, 9), // urandom
  char(5, 0), // tty
  char(5, 1), // console
  char(5, 2), // ptmx
  char(136, null), // pts/*
];

const num = (n: number | null) => (n === null ? "*" : String(n));

/** The rule as the v1 files and `explain` write it: "c 1:3 rwm", "a". */
export function ruleText(r: DeviceRule): string {
  return r.type === "a" ? "a" : `${r.type} ${num(r.major)}:${num(r.minor)} ${r.access}`;
}

/** Whether `outer` matches every device `inner` does. */
function covers(outer: DeviceRule, inner: DeviceRule): boolean {
  return (outer.type === "a" || outer.type === inner.type) && (outer.major === null || outer.major === inner.major) && (outer.minor === null || outer.minor === inner.minor);
}

/** Parse "MAJOR:MINOR" ("*" for any); null when malformed. */
export function parseDevNumbers(text: string): { major: number | null; minor: number | null } | null {
  const m = /^(\*|\d{1,7}):(\*|\d{1,7})$/.exec(text);
  if (!m) return null;
  return { major: m[1] === "*" ? null : Number(m[1]), minor: m[2] === "*" ? null : Number(m[2]) };
}

/**
 * The allowed accesses after `rules` (each an allow or a deny) on top of the default.
 * A deny takes its access letters from every allowed entry it covers. A deny narrower
 * than an allowed entry that reads or writes (deny c 1:3 r under allow c *:* rw) cannot
 * be written as v1 lines, and is reported as a string for the checker; under a wider
 * mknod-only entry, its `m` is left allowed.
 */
export function effectivePolicy(rules: readonly { allow: boolean; rule: DeviceRule }[], base: readonly DeviceRule[] = DEFAULT_DEVICES): { allowed: DeviceRule[]; problem: string | null } {
  let allowed = base.map((r) => ({ ...r }));
  for (const { allow, rule } of rules) {
    if (allow) {
      allowed.push({ ...rule, type: rule.type });
      continue;
    }
    for (const a of allowed) {
      if (covers(rule, a)) a.access = [...a.access].filter((c) => !rule.access.includes(c)).join("");
      // Making a node is harmless while opening it is denied: a narrower deny leaves a
      // wider mknod-only entry (the default's `c *:* m`) as it is.
      else if (covers(a, rule) && [...rule.access].some((c) => c !== "m" && a.access.includes(c))) {
        return { allowed, problem: `\`${ruleText({ ...rule })}\` is narrower than the allowed \`${ruleText(a)}\`: the kernel's v1 devices cgroup cannot take a part out of an allowed range` };
      }
    }
    allowed = allowed.filter((a) => a.access !== "");
  }
  return { allowed, problem: null };
}

/** The v1 writes: everything denied, then each allowed entry (runtime/features/cgroup/manager.ts writes them in order). */
export function devicesV1Writes(allowed: readonly DeviceRule[]): { file: string; value: string; note?: string }[] {
  return [
    { file: "devices.deny", value: "a", note: "deny every device first (the cgroup has no children yet)" },
    ...allowed.map((r) => ({ file: "devices.allow", value: ruleText(r) })),
  ];
}
