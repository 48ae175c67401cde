// The namespaces a container is made with (`ns`), and joining a running one's (`join`).
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { NAMESPACES, type NsName } from "../../../lang/spec.ts";
import { itemsOf } from "../../../lang/values.ts";
import { bound } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";
import { nameProblem } from "../lifecycle/names.ts";
import { orderNamespaces } from "./ns.ts";

export const nsStatement = defineStatement({
  name: "ns",
  summary: "Create the container's namespaces: a fresh process that unshares them (`ns none`: a plain child process).",
  syntax: "ns NS[, NS...] | ns none",
  example: "ns uts, pid, mnt",
  plan: () => [{ kind: "unshare", namespaces: [], side: "creator" }],
  side: "creator",
  args: [{ name: "NS", kind: "nslist", rest: true }],
  createsNamespaces: true,
  check: (cmd, ctx) => {
    const seen = new Set<string>();
    const items = bound(cmd).rest.flatMap(itemsOf);
    for (const it of items) {
      if (it.text === "none" && items.length > 1) ctx.error(it.span, "`none` cannot be combined with other namespaces", "write either `ns none` or a list of namespaces");
      if (seen.has(it.text)) ctx.warning?.(it.span, `namespace \`${it.text}\` is listed twice`);
      seen.add(it.text);
    }
  },
});

export const joinStatement = defineStatement({
  name: "join",
  summary: "Share namespaces of the running container NAME (setns, user first) and make the rest new with `ns`, like `docker run --network container:NAME`.",
  syntax: "join NAME NS[, NS...]",
  example: "join web pid, net",
  side: "creator",
  joinsNamespaces: true,
  exclusive: "join",
  plan: (cmd) => {
    const b = bound(cmd);
    const name = b.args.NAME!.text;
    const namespaces = orderNamespaces(b.rest.flatMap(itemsOf).map((i) => i.text as NsName));
    return [{ kind: "join", name, namespaces, side: "creator" }];
  },
  args: [
    { name: "NAME", kind: "word" },
    { name: "NS", kind: "nslist", rest: true },
  ],
  check: (cmd, ctx) => {
    const seen = new Set<string>();
    const name = bound(cmd).args.NAME;
    if (name) {
      const why = nameProblem(name.text);
      if (why) ctx.error(name.span, `invalid container name ${JSON.stringify(name.text)}`, why);
    }
    for (const it of bound(cmd).rest.flatMap(itemsOf)) {
      if (it.text === "none") ctx.error(it.span, "`none` is not a namespace to join", `name the namespaces to enter: ${NAMESPACES.join(", ")}`);
      if (seen.has(it.text)) ctx.warning?.(it.span, `namespace \`${it.text}\` is listed twice`);
      seen.add(it.text);
    }
  },
});
