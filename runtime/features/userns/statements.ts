// The id maps of a user namespace (`map`), written by the host between stage 1's unshare and PID 1.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import type { ArgSpec } from "../../../lang/spec.ts";
import { MAX_ID } from "../../../lang/values.ts";
import { bound } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";

/** A map line's arguments, the same for uid and gid. */
const ID_RANGE: ArgSpec[] = [
  { name: "INSIDE", kind: "idrange" },
  { name: "OUTSIDE", kind: "idrange" },
  { name: "COUNT", kind: "int" },
];

export const mapStatement = defineStatement({
  name: "map",
  summary: "Map a range of user or group ids of the container's user namespace to ids outside it.",
  syntax: "map uid|gid INSIDE OUTSIDE COUNT",
  example: "map uid 0 1000 1",
  plan: (cmd) => {
    const b = bound(cmd);
    const which = b.form as "uid" | "gid";
    const [inside, outside, count] = [b.args.INSIDE!.text, b.args.OUTSIDE!.text, b.args.COUNT!.text];
    const line = { inside: Number(inside), outside: Number(outside), count: Number(count) };
    return [{ kind: "idmap", which, line, side: "host" }];
  },
  side: "host",
  requires: ["user"],
  container: true,
  forms: {
    uid: {
      summary: "Map user ids: INSIDE..INSIDE+COUNT-1 in the container are OUTSIDE.. on the host.",
      syntax: "map uid INSIDE OUTSIDE COUNT",
      example: "map uid 0 1000 1",
      args: ID_RANGE,
    },
    gid: {
      summary: "Map group ids, the same way.",
      syntax: "map gid INSIDE OUTSIDE COUNT",
      example: "map gid 0 1000 1",
      args: ID_RANGE,
    },
  },
  check: (cmd, ctx) => {
    const { INSIDE: inside, OUTSIDE: outside, COUNT: count } = bound(cmd).args;
    if (!inside || !outside || !count) return;
    const n = Number(count.text);
    if (n === 0) {
      ctx.error(count.span, "COUNT must be at least 1");
      return;
    }
    for (const a of [inside, outside]) {
      const last = Number(a.text) + n - 1;
      if (last > MAX_ID) ctx.error(count.span, `the range ${a.text}..${last} goes past the largest id ${MAX_ID}`, `use a COUNT of at most ${MAX_ID - Number(a.text) + 1}`);
    }
  },
});
