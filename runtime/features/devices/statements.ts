// The device policy: `device allow|deny TYPE MAJOR:MINOR [rwm]` and `device default`;
// and `device node`, a node made in the container (runtime/features/devices/node.ts).
// One registry entry (runtime/statement.ts): schema, checks, plan; runtime/registry.ts lists it.
// The rules are in runtime/features/devices/policy.ts; the policy travels as a cgroup
// "limit" (runtime/features/cgroup/manager.ts), so it is in place before stage 1 unshares.

import type { CheckContext, Command } from "../../../lang/spec.ts";
import { bound, type PlanContext, type PlanFn } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";
import { effectivePolicy, parseDevNumbers, type DeviceRule } from "./policy.ts";

type Step = { allow: boolean; rule: DeviceRule };

/** The rule a command writes, or null for `device default`. */
function stepOf(cmd: Command): Step | null {
  const b = bound(cmd);
  if (b.form === "default" || b.form === "node") return null;
  const type = b.args.TYPE!.text as DeviceRule["type"];
  const nums = parseDevNumbers(b.args["MAJOR:MINOR"]?.text ?? "*:*") ?? { major: null, minor: null };
  return { allow: b.form === "allow", rule: { type, ...nums, access: b.args.ACCESS?.text ?? "rwm" } };
}

// The steps of the script so far: each `device` line's op carries the whole policy up to it.
const steps = new WeakMap<object, Step[]>();

function stepsSoFar(key: object, cmd: Command): Step[] {
  const list = steps.get(key) ?? [];
  steps.set(key, list);
  const s = stepOf(cmd);
  if (s) list.push(s);
  return list;
}

const planDevice: PlanFn = (cmd, ctx: PlanContext) => {
  const b = bound(cmd);
  if (b.form === "node") {
    const type = b.args.TYPE!.text as "c" | "b" | "p";
    const nums = type === "p" ? { major: 0, minor: 0 } : parseDevNumbers(b.args["MAJOR:MINOR"]!.text)!;
    const id = (k: "uid" | "gid") => (b.options[k] ? Number(b.options[k]!.text) : 0);
    const mode = b.options.mode ? parseInt(b.options.mode.text, 8) : 0o666;
    return [{ kind: "device-node", path: b.args.PATH!.text, type, major: nums.major ?? 0, minor: nums.minor ?? 0, mode, uid: id("uid"), gid: id("gid"), side: "pid1" }];
  }
  const { allowed } = effectivePolicy(stepsSoFar(ctx, cmd));
  const limit = { controller: "devices" as const, allowed };
  return [{ kind: "cgroup-limit", limit, side: "host" }];
};

const checked = new WeakMap<object, Step[]>();

const RULE_ARGS = [
  { name: "TYPE", kind: { oneOf: ["a", "b", "c"] } },
  { name: "MAJOR:MINOR", kind: "word", optional: true },
  { name: "ACCESS", kind: "word", optional: true },
] as const;

export const deviceStatement = defineStatement({
  name: "device",
  summary:
    "The device policy, enforced by the devices cgroup (v1) or a BPF program (v2): with any `device` line, the container may open only null, zero, full, random, urandom, tty, console, ptmx and the pseudo-terminals (mknod of any node stays allowed, as under runc: a node made for the host's disk cannot be opened); `allow` and `deny` lines change that, in order.",
  syntax: "device allow|deny a|b|c [MAJOR:MINOR] [rwm] | device default",
  example: "device allow c 10:200 rwm",
  plan: planDevice,
  side: "host",
  container: true,
  forms: {
    allow: { summary: "Also allow an access: type b (block), c (char) or a (all); `*` for any major or minor; r read, w write, m mknod (default rwm).", syntax: "device allow a|b|c [MAJOR:MINOR] [rwm]", example: "device allow c 10:200 rwm", args: [...RULE_ARGS] },
    deny: { summary: "Take back an access the default or an earlier `allow` gave (`device deny a` denies everything, mknod too).", syntax: "device deny a|b|c [MAJOR:MINOR] [rwm]", example: "device deny c 5:1 rwm", args: [...RULE_ARGS] },
    default: { summary: "Only the default policy (what `mount dev` and devpts give).", syntax: "device default", example: "device default" },
    node: {
      summary:
        "Make a device node at PATH in the container (an OCI config's linux.devices): type c (char), b (block) or p (a FIFO, without MAJOR:MINOR); mode= (default 0666), uid= and gid= (default 0). A node already there is left as it is; in a user namespace, where mknod is not permitted, the host's node at PATH is bound there instead, as runc does. It opens as the device policy allows: add a `device allow` for it when there is one.",
      syntax: "device node PATH c|b|p [MAJOR:MINOR] [mode=MODE] [uid=UID] [gid=GID]",
      example: "device node /dev/fuse c 10:229 mode=0666",
      side: "pid1",
      requires: ["mnt"],
      args: [
        { name: "PATH", kind: "path" },
        { name: "TYPE", kind: { oneOf: ["c", "b", "p"] } },
        { name: "MAJOR:MINOR", kind: "word", optional: true },
      ],
      options: { mode: "mode", uid: "int", gid: "int" },
    },
  },
  check: (cmd, ctx) => {
    const b = bound(cmd);
    if (b.form === "default") return;
    if (b.form === "node") return checkNode(cmd, ctx);
    const nums = b.args["MAJOR:MINOR"];
    const access = b.args.ACCESS;
    if (nums && !parseDevNumbers(nums.text)) ctx.error(nums.span, `malformed device numbers \`${nums.text}\``, "write MAJOR:MINOR, each a number or `*`: 8:0, 136:*");
    else if (!nums && b.args.TYPE?.text !== "a") ctx.error(cmd.args[1]?.span ?? cmd.nameSpan, `\`device ${b.form} ${b.args.TYPE?.text}\` needs MAJOR:MINOR`, "e.g. 10:200, or *:* for every device of that type");
    if (access && !/^(?!.*(.).*\1)[rwm]{1,3}$/.test(access.text)) ctx.error(access.span, `malformed access \`${access.text}\``, "some of r (read), w (write), m (mknod), each once: rwm");
    const s = stepOf(cmd);
    if (!s || (nums ? !parseDevNumbers(nums.text) : s.rule.type !== "a")) return;
    const list = checked.get(ctx.namespaces) ?? [];
    checked.set(ctx.namespaces, list);
    list.push(s);
    const { problem } = effectivePolicy(list);
    if (problem) ctx.error(cmd.nameSpan, problem, "deny the whole allowed range, then allow the parts you want");
  },
});

/** `device node`: whole numbers for a char or block node, none for a FIFO; an absolute path. */
function checkNode(cmd: Command, ctx: CheckContext): void {
  const b = bound(cmd);
  const path = b.args.PATH;
  const type = b.args.TYPE?.text;
  const nums = b.args["MAJOR:MINOR"];
  if (path && !path.text.startsWith("/")) ctx.error(path.span, `the device node's path \`${path.text}\` is not absolute`, `write it from the container's root: /${path.text}`);
  if (type === "p") {
    if (nums) ctx.error(nums.span, "a FIFO (type p) has no device numbers", "remove MAJOR:MINOR");
    return;
  }
  const parsed = nums ? parseDevNumbers(nums.text) : null;
  if (!nums) ctx.error(cmd.args[2]?.span ?? cmd.nameSpan, `\`device node\` of type ${type} needs MAJOR:MINOR`, "e.g. 10:229 for /dev/fuse");
  else if (!parsed || parsed.major === null || parsed.minor === null) ctx.error(nums.span, `malformed device numbers \`${nums.text}\` for a node`, "write MAJOR:MINOR, each a number: 10:229");
}
