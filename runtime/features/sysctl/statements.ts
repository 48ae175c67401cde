// `sysctl KEY=VALUE...`: namespaced kernel parameters, set by PID 1 (runtime/features/sysctl/sysctl.ts
// has the kernel's rules). One registry entry (runtime/statement.ts); runtime/registry.ts lists it.

import type { CheckContext, Command } from "../../../lang/spec.ts";
import { bound } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";
import { NAMESPACED_HELP, normalKey, SYSCTL_KEY, SYSCTL_TOPS, sysctlFile, sysctlNamespace } from "./sysctl.ts";

function check(cmd: Command, ctx: CheckContext): void {
  const b = bound(cmd);
  const spans = Object.entries(b.optionSpans);
  if (spans.length === 0) ctx.error(cmd.nameSpan, "`sysctl` needs at least one KEY=VALUE", "syntax: sysctl KEY=VALUE..., e.g. sysctl net.ipv4.ip_forward=1");
  for (const [key, span] of spans) {
    const at = { ...span, length: key.length };
    if (!SYSCTL_KEY.test(key) || !SYSCTL_TOPS.has(normalKey(key).split(".")[0]!)) {
      ctx.error(at, `unknown sysctl \`${key}\``, "a key names a file under /proc/sys, with dots between its parts: net.ipv4.ip_forward");
      continue;
    }
    const k = normalKey(key);
    const onHost = ctx.host ? ctx.host.kind(`/proc/${sysctlFile(k)}`) : "file";
    const ns = sysctlNamespace(k);
    if (onHost === "dir") {
      ctx.error(at, `\`${k}\` is a directory of sysctls, not one`, `name one of the files in /proc/${sysctlFile(k)}`);
      continue;
    }
    if (onHost !== "file") {
      ctx.error(at, `unknown sysctl \`${k}\`: there is no /proc/${sysctlFile(k)} on this host`, "`sysctl -a` lists the keys the kernel has");
      continue;
    }
    if (ns === null) {
      ctx.error(at, `\`sysctl ${k}\` would change the host: the kernel keeps one value for the whole machine, not one per namespace`, NAMESPACED_HELP);
      continue;
    }
    if (!ctx.namespaces.has(ns)) {
      ctx.error(at, `\`sysctl ${k}\` needs \`ns ${ns}\`: without a ${NS_WHAT[ns]} namespace of its own, the container would set the host's value`, `add \`${ns}\` to the \`ns\` line`);
    }
  }
}

const NS_WHAT = { net: "network", uts: "UTS", ipc: "IPC" } as const;

export const sysctlStatement = defineStatement({
  name: "sysctl",
  summary: "Set namespaced kernel parameters (/proc/sys) in the container: net.* with `ns net`, kernel.hostname/domainname with `ns uts`, the IPC limits with `ns ipc`.",
  syntax: "sysctl KEY=VALUE...",
  example: "sysctl kernel.hostname=box",
  plan: (cmd) => {
    const values = Object.entries(bound(cmd).options).map(([k, v]) => [normalKey(k), v.text] as const);
    return [{ kind: "sysctl", values, side: "pid1" }];
  },
  side: "pid1",
  affects: "the host's kernel parameters",
  container: true,
  options: { "*": "text" },
  check,
});
