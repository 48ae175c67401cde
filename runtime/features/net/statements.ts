// Networking: `net` (chapter 10). `net lo up|down` is performed by PID 1 over rtnetlink
// (link.ts, codec.ts); the veth and bridge forms are not performed yet.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { bound } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";

export const netStatement = defineStatement({
  name: "net",
  summary: "Network: bring up loopback, or connect the container to the host with a veth pair or a bridge.",
  syntax: "net lo up | net veth host=CIDR ctr=CIDR | net bridge NAME ctr=CIDR",
  example: "net lo up",
  unsupportedForms: {
    veth: "networking is chapter 10 of the walkthroughs, not written yet (README, \"Examples\")",
    bridge: "networking is chapter 10 of the walkthroughs, not written yet (README, \"Examples\")",
  },
  side: "host",
  // Only `net lo` gets here: the planner refuses the forms in unsupportedForms first.
  plan: (cmd) => {
    const up = bound(cmd).args.STATE!.text === "up";
    return [{ kind: "link-up", name: "lo", up, side: "pid1" }];
  },
  requires: ["net"],
  affects: "the host's network",
  container: true,
  forms: {
    lo: {
      summary: "Bring the container's loopback interface up (or down).",
      syntax: "net lo up|down",
      example: "net lo up",
      side: "pid1",
      args: [{ name: "STATE", kind: { oneOf: ["up", "down"] } }],
    },
    veth: {
      summary: "A veth pair: one end on the host with address host=, the other in the container with ctr=.",
      syntax: "net veth host=CIDR ctr=CIDR [name=IFNAME]",
      example: "net veth host=10.0.0.1/24 ctr=10.0.0.2/24",
      options: { host: "cidr", ctr: "cidr", name: "word" },
      requiredOptions: ["host", "ctr"],
    },
    bridge: {
      summary: "Attach the container to bridge NAME on the host (created if missing, with address addr=).",
      syntax: "net bridge NAME ctr=CIDR [addr=CIDR] [name=IFNAME]",
      example: "net bridge ctr0 ctr=10.0.1.2/24 addr=10.0.1.1/24",
      args: [{ name: "NAME", kind: "word" }],
      options: { ctr: "cidr", addr: "cidr", name: "word" },
      requiredOptions: ["ctr"],
      check: (cmd, ctx) => {
        const n = bound(cmd).positional[0];
        if (n && n.text.length > 15) ctx.error(n.span, `interface name \`${n.text}\` is longer than 15 characters`);
      },
    },
  },
  check: (cmd, ctx) => {
    const n = bound(cmd).options.name;
    if (n && n.text.length > 15) ctx.error(n.span, `interface name \`${n.text}\` is longer than 15 characters`);
  },
});
