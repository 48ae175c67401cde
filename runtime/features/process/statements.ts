// The container's processes: their environment, working directory, privileges and limits, `run` and `exec`.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { didYouMean } from "../../../lang/suggest.ts";
import { MAX_ID, itemsOf, parseSize } from "../../../lang/values.ts";
import { bound, quote } from "../../plan.ts";
import { argv, defineStatement } from "../../statement.ts";
import { capName } from "../security/caps.ts";
import { ID_OR_NAME } from "../security/user.ts";
import { SysError } from "../../../native/error.ts";
import { defaultProfile, ProfileError, readProfile, type Profile } from "../security/profile.ts";

export const CAPABILITIES = [
  "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
  "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
  "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
  "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
  "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
  "checkpoint_restore",
] as const;

export const RLIMITS = [
  "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
  "rtprio", "rttime", "sigpending", "stack",
] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const envStatement = defineStatement({
  name: "env",
  summary: "Set environment variables for the commands run in the container.",
  syntax: "env NAME=VALUE...",
  example: "env PATH=/bin:/usr/bin HOME=/root",
  plan: (cmd) => {
    const vars: Record<string, string> = {};
    const options = bound(cmd).options;
    for (const k in options) vars[k] = options[k]!.text; // a plain object of the checker's (no pairs array per command)
    return [{ kind: "env", vars, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  options: { "*": "text" },
  check: (cmd, ctx) => {
    const spans = bound(cmd).optionSpans;
    let given = 0;
    for (const key in spans) {
      given++;
      if (!ENV_NAME.test(key)) ctx.error({ ...spans[key]!, length: key.length }, `invalid environment variable name \`${key}\``, "a name is letters, digits and `_`");
    }
    if (given === 0) ctx.error(cmd.nameSpan, "`env` needs at least one NAME=VALUE", "syntax: env NAME=VALUE...");
  },
});

export const cwdStatement = defineStatement({
  name: "cwd",
  summary: "Working directory for the commands run in the container.",
  syntax: "cwd DIR",
  example: "cwd /tmp",
  plan: (cmd) => {
    const dir = bound(cmd).args.DIR!.text;
    return [{ kind: "cwd", dir, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  args: [{ name: "DIR", kind: "path" }],
});


export const userStatement = defineStatement({
  name: "user",
  summary: "Run the container's commands as a user (and group): ids, or names from the container's /etc/passwd and /etc/group.",
  syntax: "user UID[:GID] [groups=G1,G2]",
  example: "user 1000:1000 groups=10",
  plan: (cmd) => {
    const b = bound(cmd);
    const [user, group] = b.positional[0]!.text.split(":") as [string, string?];
    const groups = b.options.groups ? b.options.groups.text.split(",").filter(Boolean) : undefined;
    const setting = { user, ...(group !== undefined ? { group } : {}), ...(groups ? { groups } : {}) };
    return [{ kind: "user", user: setting, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  args: [{ name: "UID[:GID]", kind: "word" }],
  options: { groups: "text" },
  check: (cmd, ctx) => {
    const b = bound(cmd);
    const a = b.positional[0];
    if (!a) return;
    const parts = a.text.split(":");
    if (parts.length > 2 || !parts.every((p) => ID_OR_NAME.test(p))) {
      ctx.error(a.span, `malformed user \`${a.text}\``, "write UID or UID:GID, numbers or names: 1000:1000, nobody, www-data:www-data");
    } else if (parts.some((p) => /^\d+$/.test(p) && Number(p) > MAX_ID)) {
      ctx.error(a.span, `id out of range in \`${a.text}\``, `ids go from 0 to ${MAX_ID}`);
    }
    const g = b.options.groups;
    if (g && !g.text.split(",").every((p) => ID_OR_NAME.test(p) && (!/^\d+$/.test(p) || Number(p) <= MAX_ID))) {
      ctx.error(b.optionSpans.groups!, `malformed groups \`${g.text}\``, "write group ids or names separated by commas: groups=10,audio");
    }
  },
});

export const capStatement = defineStatement({
  name: "cap",
  summary: "Drop or add capabilities of the container's commands (bounding, effective, permitted, inheritable and ambient sets).",
  syntax: "cap drop|add CAP...|all",
  example: "cap drop all",
  plan: (cmd) => {
    const b = bound(cmd);
    const form = b.form as "drop" | "add";
    const caps = b.rest.flatMap(itemsOf).map((it) => capName(it.text));
    return [{ kind: "cap", form, caps, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  forms: {
    drop: {
      summary: "Remove capabilities (`all` for every one).",
      syntax: "cap drop CAP...|all",
      example: "cap drop net_raw, sys_admin",
      args: [{ name: "CAP", kind: "text", rest: true }],
    },
    add: {
      summary: "Keep or add capabilities (after `cap drop all`, the ones listed come back).",
      syntax: "cap add CAP...|all",
      example: "cap add net_bind_service",
      args: [{ name: "CAP", kind: "text", rest: true }],
    },
  },
  check: (cmd, ctx) => {
    const items = bound(cmd).rest.flatMap(itemsOf);
    for (const it of items) {
      const name = it.text.toLowerCase().replace(/^cap_/, "");
      if (name === "all") {
        if (items.length > 1) ctx.error(it.span, "`all` cannot be combined with other capabilities");
        continue;
      }
      if (!(CAPABILITIES as readonly string[]).includes(name)) {
        ctx.error(it.span, `unknown capability \`${it.text}\``, didYouMean(name, CAPABILITIES) ?? "see capabilities(7); write names like net_raw or CAP_NET_RAW");
      }
    }
  },
});

/** The profile a `seccomp` line names: `default`, `none`, or a host file read and checked now. */
function seccompProfile(text: string): Profile | null {
  if (text === "none") return null;
  return text === "default" ? defaultProfile() : readProfile(text);
}

export const seccompStatement = defineStatement({
  name: "seccomp",
  summary: "Filter the container's system calls: Docker's default profile, none, or an OCI/Docker JSON profile FILE.",
  syntax: "seccomp default|none|FILE",
  example: "seccomp default",
  plan: (cmd) => {
    const a = bound(cmd).positional[0]!;
    let profile: Profile | null;
    try {
      profile = seccompProfile(a.text);
    } catch (e) {
      // The checker read it already; this is the file changing in between, or a check without the host.
      if (!(e instanceof ProfileError)) throw e;
      throw new SysError({ message: `seccomp profile ${quote(a.text)}: ${e.path}: ${e.message}`, hint: e.help, span: a.span, status: 2 });
    }
    return [{ kind: "seccomp", profile, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  args: [{ name: "PROFILE", kind: "path" }],
  check: (cmd, ctx) => {
    const a = bound(cmd).positional[0];
    if (!a || a.text === "default" || a.text === "none" || !ctx.host) return;
    try {
      readProfile(a.text);
    } catch (e) {
      if (e instanceof ProfileError) ctx.error(a.span, `seccomp profile ${quote(a.text)}: ${e.path}: ${e.message}`, e.help ?? "see the OCI runtime spec's seccomp section for the format");
      else ctx.error(a.span, `seccomp profile ${quote(a.text)}: ${(e as Error).message}`, "libseccomp (libseccomp2) is needed to check and load a profile");
    }
  },
});

export const rlimitStatement = defineStatement({
  name: "rlimit",
  summary: "Set a resource limit (setrlimit) for the container's processes.",
  syntax: "rlimit NAME SOFT[:HARD]",
  example: "rlimit nofile 1024:4096",
  plan: (cmd) => {
    const b = bound(cmd);
    const name = b.positional[0]!.text.toLowerCase();
    const [soft, hard = soft] = b.positional[1]!.text.split(":") as [string, string?];
    const value = (t: string) => (t === "unlimited" ? "unlimited" : String(parseSize(t)));
    const lim = { name, soft: value(soft), hard: value(hard!) };
    // explain's lines are derived from the spec step it adds (runtime/explain.ts, SPEC).
    return [{ kind: "rlimit", ...lim, side: "pid1" }];
  },
  side: "pid1",
  container: true,
  args: [
    { name: "NAME", kind: { oneOf: RLIMITS } },
    { name: "SOFT[:HARD]", kind: "word" },
  ],
  check: (cmd, ctx) => {
    const a = bound(cmd).positional[1];
    if (!a) return;
    const parts = a.text.split(":");
    const vals = parts.map((p) => (p === "unlimited" ? Infinity : (parseSize(p) ?? NaN)));
    if (parts.length > 2 || vals.some((v) => Number.isNaN(v))) {
      ctx.error(a.span, `malformed limit \`${a.text}\``, "write SOFT or SOFT:HARD, each a number (with k/m/g for sizes) or `unlimited`: 1024:4096");
    } else if (vals.length === 2 && vals[0]! > vals[1]!) {
      ctx.error(a.span, `the soft limit ${parts[0]} is above the hard limit ${parts[1]}`, "the soft limit must not exceed the hard one");
    }
  },
});

export const noNewPrivsStatement = defineStatement({
  name: "no_new_privs",
  summary: "Later commands cannot gain privileges through execve (setuid bits, file capabilities): PR_SET_NO_NEW_PRIVS.",
  syntax: "no_new_privs",
  example: "no_new_privs",
  plan: () => [{ kind: "no-new-privs", side: "pid1" }],
  side: "pid1",
  container: true,
});

export const runStatement = defineStatement({
  name: "run",
  summary: "Run a command in the container and wait for it; the container stays up for more statements.",
  syntax: "run CMD [ARGS...]",
  example: 'run /bin/sh -c "echo hello"',
  plan: (cmd) => [{ kind: "run", argv: argv(cmd), capture: false, side: "pid1" }],
  side: "pid1",
  container: true,
  args: [{ name: "CMD", kind: "text", rest: true }],
});

export const execStatement = defineStatement({
  name: "exec",
  summary: "Replace the container's PID 1 with a command (execve): the last statement acting on the container.",
  syntax: "exec CMD [ARGS...]",
  example: "exec /bin/sh",
  plan: (cmd) => [{ kind: "exec", argv: argv(cmd), side: "pid1" }],
  side: "pid1",
  container: true,
  final: true,
  args: [{ name: "CMD", kind: "text", rest: true }],
});
