// The UTS names: `hostname` and `domainname`, set by PID 1 in the container's own UTS namespace.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { type CheckContext, type Command } from "../../../lang/spec.ts";
import { bound } from "../../plan.ts";
import { defineStatement, type StatementDef } from "../../statement.ts";

function checkName(what: string, max: number) {
  return (cmd: Command, ctx: CheckContext): void => {
    const a = bound(cmd).args.NAME;
    if (!a) return;
    if (a.text === "") ctx.error(a.span, `the ${what} is empty`);
    else if (a.text.length * 3 > max && Buffer.byteLength(a.text) > max) ctx.error(a.span, `the ${what} is longer than ${max} bytes`, `the kernel limit is ${max} bytes`);
  };
}

/** `hostname` and `domainname`: one UTS name each, set by PID 1 in the container's UTS namespace. */
function utsName(name: "hostname" | "domainname", what: string, syscall: string, example: string, summary: string): StatementDef {
  return defineStatement({
    name,
    summary,
    syntax: `${name} NAME`,
    example,
    plan: (cmd) => {
      const value = bound(cmd).args.NAME!.text;
      return [{ kind: name, name: value, side: "pid1" }];
    },
    side: "pid1",
    requires: ["uts"],
    affects: `the host's ${what}`,
    container: true,
    args: [{ name: "NAME", kind: "word" }],
    check: checkName(what, 64),
  });
}

export const hostnameStatement = utsName("hostname", "hostname", "sethostname", 'hostname "container"', "Set the container's hostname (in its own UTS namespace).");

export const domainnameStatement = utsName("domainname", "domain name", "setdomainname", "domainname example.org", "Set the container's NIS domain name (in its own UTS namespace).");
