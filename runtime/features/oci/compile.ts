// `ctr compile FILE.ctr`: a script as an OCI bundle (issue 18, item 4), the
// reverse of translate.ts. Each checked command becomes the config.json
// field that translate.ts maps back to the same statement, so `ctr explain
// BUNDLE` shows the operations `ctr explain FILE.ctr` shows. Before anything
// is written, the config is translated and planned again and its operations
// compared with the script's (`sameOps`): a difference is an error at the
// script's line, never a bundle that runs something else.
//
// A bundle has one process and no host-side steps of ctr's: statements that
// run, print, wait or make host links (`run`, `echo`, `expect`, `show`,
// `sleep`, `net`, `join`, `volume`) cannot be expressed and are errors at
// their line, with the fix. `rootfs default` is refused too: ctr's default
// root is an overlay made per container over a shared cache, and a bundle's
// root.path is one directory the runtime writes into, so pointing it at the
// cache would let one container change every later container's root.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Arg, Command, Diagnostic } from "../../../lang/spec.ts";
import { itemsOf, parseDuration, parsePercent, parseSize } from "../../../lang/values.ts";
import type { Op } from "../../ops.ts";
import { bound } from "../../plan.ts";
import { NAMESPACE_NAMES } from "./translate.ts";

/** What ctr does anyway for each mount form (runtime/features/mount/statements.ts): written out so that runc and crun mount the same. */
const FORM_OPTIONS: Record<string, { type: string; dst: string; options: string[] }> = {
  proc: { type: "proc", dst: "/proc", options: ["nosuid", "noexec", "nodev"] },
  sysfs: { type: "sysfs", dst: "/sys", options: ["nosuid", "noexec", "nodev"] },
  mqueue: { type: "mqueue", dst: "/dev/mqueue", options: ["nosuid", "noexec", "nodev"] },
  cgroup: { type: "cgroup", dst: "/sys/fs/cgroup", options: ["nosuid", "noexec", "nodev"] },
  devpts: { type: "devpts", dst: "/dev/pts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
  tmpfs: { type: "tmpfs", dst: "", options: ["nosuid", "nodev"] },
  // `mount dev`: the tmpfs the spec's /dev is (translate.ts reads it back as `mount dev`).
  dev: { type: "tmpfs", dst: "/dev", options: ["nosuid", "noexec", "mode=755", "size=65536k"] },
};

/** The runtime spec's seccomp fields (config-linux.md), as translate.ts reads them. */
const SECCOMP_KEYS = ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"];
const SECCOMP_RULE_KEYS = ["names", "action", "errnoRet", "args"];

/** RLIM_INFINITY, written as JSON's exact integer (a double cannot hold 2^64-1; runc parses it as a uint64). */
const INFINITY_MARK = "\u0000RLIM_INFINITY\u0000";
const RLIM_INFINITY_TEXT = "18446744073709551615";

/** Why a statement has no place in a bundle, and what to do instead. */
const CANNOT: Record<string, string> = {
  run: "a bundle has one process, its `exec`; run the command from it (`exec sh -c 'CMD; exec PROG'`) or remove the line",
  echo: "a bundle has no ctr to print; remove the line",
  expect: "a bundle has no ctr to check a command's result; remove the line",
  show: "a bundle has no ctr to show the container from the host; remove the line",
  sleep: "a bundle has one process, its `exec`; remove the line",
  net: "the runtime spec makes no links or addresses; make them outside and join the network namespace by path in config.json, or remove the line",
  join: "a bundle joins namespaces by path (linux.namespaces[].path), which a script does not name; remove the line and edit config.json",
  volume: "a volume lives in ctr's store; use `mount bind SRC DST` with a host directory",
  chroot: "a bundle's root is entered with pivot_root; use `rootfs DIR`",
};

export interface CompiledConfig {
  /** config.json's text, or null when there were errors. */
  text: string | null;
  diagnostics: Diagnostic[];
}

class Compiler {
  readonly diagnostics: Diagnostic[] = [];
  readonly process: Record<string, unknown> = {};
  readonly linux: Record<string, unknown> = {};
  readonly mounts: Record<string, unknown>[] = [];
  readonly cfg: Record<string, unknown> = { ociVersion: "1.0.2" };
  seen = new Set<string>();

  error(at: Command | Arg, message: string, help: string): void {
    const span = "nameSpan" in at ? at.nameSpan : at.span;
    this.diagnostics.push({ severity: "error", span, message, help });
  }
  cannot(cmd: Command, what: string, help: string): void {
    this.error(cmd, `compile cannot express ${what}`, help);
  }
  /** A statement that may appear once in a bundle (a field of its own). */
  once(cmd: Command, help: string): boolean {
    if (this.seen.has(cmd.name)) {
      this.cannot(cmd, `a second \`${cmd.name}\``, help);
      return false;
    }
    this.seen.add(cmd.name);
    return true;
  }
  /** A host path of the bundle's: a script's relative one is ctr's working directory's, a bundle's the bundle's, so only an absolute one means the same in both. */
  absolute(cmd: Command, a: Arg, cwd: string): boolean {
    if (a.text.startsWith("/")) return true;
    this.error(a, `compile cannot express the relative host path \`${a.text}\` of \`${cmd.name}\``, `in a bundle it would be relative to the bundle's directory: write it absolute, \`${path.resolve(cwd, a.text)}\``);
    return false;
  }
  resources(): Record<string, unknown> {
    return (this.linux.resources ??= {}) as Record<string, unknown>;
  }
  list(obj: Record<string, unknown>, key: string): unknown[] {
    return (obj[key] ??= []) as unknown[];
  }
}

/** The commands of a checked script (every one bound) as config.json; `cwd`: where the script's relative paths (a seccomp FILE) are read from. */
export function compileConfig(commands: readonly Command[], cwd: string): CompiledConfig {
  const c = new Compiler();
  let root: Command | null = null;
  let exec: Command | null = null;
  let capsAt = -1;
  commands.forEach((cmd, i) => {
    if (exec) return; // the checker refuses statements after `exec`
    const b = bound(cmd);
    const word = (a: Arg | undefined) => a?.text ?? "";
    switch (cmd.name) {
      case "ns": {
        if (!c.once(cmd, "write every namespace on one `ns` line (config.json has one list)")) return;
        const names = b.positional.flatMap(itemsOf).map((a) => a.text);
        if (names.includes("none")) return;
        const type = (n: string) => Object.keys(NAMESPACE_NAMES).find((k) => NAMESPACE_NAMES[k] === n)!;
        c.linux.namespaces = names.map((n) => ({ type: type(n) }));
        return;
      }
      case "map": {
        const words = b.positional.map((a) => a.text);
        const [which, inside, outside, count] = (b.form ? [b.form, ...words] : words) as [string, string, string, string];
        if (![inside, outside, count].every((x) => /^\d+$/.test(x))) {
          c.cannot(cmd, "an id map that is not three numbers", "write `map uid|gid INSIDE OUTSIDE COUNT` with numbers");
          return;
        }
        c.list(c.linux, `${which}Mappings`).push({ containerID: Number(inside), hostID: Number(outside), size: Number(count) });
        return;
      }
      case "rootfs": {
        const dir = b.args.DIR!;
        if (b.args.IMAGE || dir.text === "image") return c.cannot(cmd, "`rootfs image`", "an image's layers are an overlay ctr makes per container; export the image's filesystem to a directory and write `rootfs DIR`");
        if (dir.text === "default")
          return c.cannot(
            cmd,
            "`rootfs default`",
            "ctr's default root is an overlay it makes per container over a shared cache; a bundle's root is one directory the runtime writes into. Build one (`ctr rootfs busybox DIR` or `ctr rootfs host DIR`) and write `rootfs DIR`",
          );
        if (b.flags.has("keep")) return c.cannot(cmd, "`keep`", "`keep` is for image roots; remove it");
        if (!c.absolute(cmd, dir, cwd)) return;
        root = cmd;
        c.cfg.root = { path: dir.text };
        return;
      }
      case "mount":
        return mount(c, cmd, cwd);
      case "hostname":
      case "domainname":
        if (c.once(cmd, `keep one \`${cmd.name}\` line`)) c.cfg[cmd.name] = word(b.positional[0]);
        return;
      case "limit":
        return limit(c, cmd);
      case "device": {
        if (b.form === "node") {
          // linux.devices (translate.ts reads it back as `device node`).
          const type = word(b.args.TYPE);
          const node: Record<string, unknown> = { path: word(b.args.PATH), type };
          if (type !== "p") {
            const [major, minor] = word(b.args["MAJOR:MINOR"]).split(":");
            Object.assign(node, { major: Number(major), minor: Number(minor) });
          }
          node.fileMode = b.options.mode ? parseInt(b.options.mode.text, 8) : 0o666;
          for (const k of ["uid", "gid"] as const) if (b.options[k]) node[k] = Number(b.options[k]!.text);
          c.list(c.linux, "devices").push(node);
          return;
        }
        const devices = c.list(c.resources(), "devices");
        if (b.form === "default") {
          if (devices.length > 0) return c.cannot(cmd, "`device default` after other `device` lines", "put `device default` first");
          devices.push({ allow: false, access: "rwm" });
          return;
        }
        const type = word(b.args.TYPE);
        const nums = b.args["MAJOR:MINOR"]?.text;
        if (type === "a" && nums !== undefined) return c.cannot(cmd, "a major:minor with type `a`", "type a is every device: remove MAJOR:MINOR");
        const rule: Record<string, unknown> = { allow: b.form === "allow", type };
        if (nums !== undefined) {
          const [major, minor] = nums.split(":");
          if (major !== "*") rule.major = Number(major);
          if (minor !== undefined && minor !== "*") rule.minor = Number(minor);
        }
        rule.access = b.args.ACCESS?.text ?? "rwm";
        devices.push(rule);
        return;
      }
      case "env": {
        if (!c.once(cmd, "put every variable on one `env` line (config.json has one list)")) return;
        c.process.env = Object.entries(b.options).map(([k, v]) => `${k}=${v.text}`);
        return;
      }
      case "cwd":
        if (c.once(cmd, "keep one `cwd` line")) c.process.cwd = word(b.args.DIR);
        return;
      case "user": {
        if (!c.once(cmd, "keep one `user` line")) return;
        const [uid, gid = "0"] = word(b.positional[0]).split(":") as [string, string?];
        if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid!)) return c.cannot(cmd, "a user or group by name", "the runtime spec takes numbers: write `user UID:GID`");
        const user: Record<string, unknown> = { uid: Number(uid), gid: Number(gid) };
        const groups = b.options.groups?.text;
        if (groups !== undefined) {
          if (!/^\d+(,\d+)*$/.test(groups)) return c.cannot(cmd, "groups by name", "write groups=GID,GID with numbers");
          user.additionalGids = groups.split(",").map(Number);
        }
        c.process.user = user;
        return;
      }
      case "cap": {
        // config.json's capability sets are one list here: `cap drop all`, then at most one `cap add` right after it (translate.ts, capabilities).
        const items = b.rest.flatMap(itemsOf).map((a) => a.text.toUpperCase().replace(/^(CAP_)?/, "CAP_"));
        const help = "write `cap drop all`, then `cap add CAP...` on the next line: config.json lists the capabilities kept";
        if (b.form === "drop" && items.length === 1 && items[0] === "CAP_ALL" && capsAt < 0) {
          capsAt = i;
          c.process.capabilities = { bounding: [], effective: [], permitted: [] };
          return;
        }
        if (b.form === "add" && capsAt === i - 1 && !items.includes("CAP_ALL")) {
          const caps = c.process.capabilities as Record<string, string[]>;
          for (const k of ["bounding", "effective", "permitted"]) caps[k] = [...items];
          capsAt = -2;
          return;
        }
        return c.cannot(cmd, `\`cap ${b.form} ${b.rest.map((a) => a.text).join(" ")}\` yet`, help);
      }
      case "seccomp": {
        if (!c.once(cmd, "keep one `seccomp` line")) return;
        const p = word(b.positional[0]);
        if (p === "default")
          return c.cannot(cmd, "`seccomp default` yet", "Docker's default profile has rules that depend on the capabilities kept (includes/excludes), which the runtime spec's seccomp lacks; give an OCI profile file: `seccomp FILE`");
        if (p === "none") return c.cannot(cmd, "`seccomp none`", "a bundle without linux.seccomp has no filter: remove the line");
        try {
          const profile = JSON.parse(readFileSync(path.resolve(cwd, p), "utf8")) as Record<string, unknown>;
          // Docker's conditions (includes, excludes) and comments are not the runtime spec's (translate.ts reads the spec's fields only).
          const extra = [...Object.keys(profile).filter((k) => !SECCOMP_KEYS.includes(k)), ...((profile.syscalls as Record<string, unknown>[] | undefined) ?? []).flatMap((r) => Object.keys(r).filter((k) => !SECCOMP_RULE_KEYS.includes(k)))];
          if (extra.length > 0) return c.cannot(cmd, `the profile's \`${extra[0]}\` yet`, "the runtime spec's seccomp has defaultAction, defaultErrnoRet, architectures and syscalls of names, action, errnoRet and args: give a profile with only those");
          c.linux.seccomp = profile;
        } catch (e) {
          c.error(b.positional[0]!, `seccomp profile "${p}": ${(e as Error).message}`, "give a readable JSON profile");
        }
        return;
      }
      case "rlimit": {
        const name = word(b.positional[0]).toUpperCase();
        const [soft, hard = soft] = word(b.positional[1]).split(":") as [string, string?];
        const value = (t: string) => (t === "unlimited" ? INFINITY_MARK : parseSize(t)!);
        c.list(c.process, "rlimits").push({ type: `RLIMIT_${name}`, soft: value(soft), hard: value(hard!) });
        return;
      }
      case "no_new_privs":
        c.process.noNewPrivileges = true;
        return;
      case "readonly":
      case "mask": {
        const p = word(b.positional[0]);
        if (cmd.name === "readonly" && p === "/") {
          if (!root) return c.cannot(cmd, "`readonly /` before `rootfs`", "put it after `rootfs DIR`: it is root.readonly");
          (c.cfg.root as Record<string, unknown>).readonly = true;
        } else c.list(c.linux, cmd.name === "mask" ? "maskedPaths" : "readonlyPaths").push(p);
        return;
      }
      case "sysctl": {
        const sysctl = (c.linux.sysctl ??= {}) as Record<string, string>;
        for (const [k, v] of Object.entries(b.options)) sysctl[k] = v.text;
        return;
      }
      case "exec":
        exec = cmd;
        c.process.args = b.rest.map((a) => a.text);
        return;
      default:
        c.cannot(cmd, `\`${cmd.name}\``, CANNOT[cmd.name] ?? "the runtime spec has no field for it; remove the line");
    }
  });
  const last = commands[commands.length - 1];
  if (!root && last) c.cannot(last, "a script without `rootfs DIR`", "an OCI bundle has a root filesystem: add `rootfs DIR` (e.g. made by `ctr rootfs busybox DIR`) after `ns`");
  if (!exec && last) c.cannot(last, "a script without `exec`", "the bundle's process is the script's `exec CMD...`: end the script with one");
  if (c.diagnostics.length > 0) return { text: null, diagnostics: c.diagnostics };
  // The spec requires a cwd; without a `cwd` line the script's commands start in "/" (runtime/features/process/spec.ts).
  c.process.cwd ??= "/";
  // For a non-root user, ctr raises the kept capabilities in the inheritable and ambient sets too (translate.ts, capabilities).
  const caps = c.process.capabilities as Record<string, string[]> | undefined;
  if (caps && ((c.process.user as { uid?: number } | undefined)?.uid ?? 0) !== 0) caps.inheritable = caps.ambient = [...caps.bounding!];
  const cfg = { ...c.cfg, process: c.process, ...(c.mounts.length > 0 ? { mounts: c.mounts } : {}), linux: c.linux };
  const text = JSON.stringify(cfg, null, "\t").replaceAll(JSON.stringify(INFINITY_MARK), RLIM_INFINITY_TEXT) + "\n";
  return { text, diagnostics: [] };
}

function mount(c: Compiler, cmd: Command, cwd: string): void {
  const b = bound(cmd);
  const form = b.form!;
  const flags = [...b.flags];
  if (form === "overlay") return c.cannot(cmd, "`mount overlay` yet", "translate.ts reads no overlay mounts back; merge the layers into one directory and bind it");
  if (form === "bind") {
    if (b.flags.has("rec")) return c.cannot(cmd, "`rec` yet", "remove `rec`: a bundle's rbind binds the tree below the source anyway");
    if (!c.absolute(cmd, b.positional[0]!, cwd)) return;
    const [src, dst] = b.positional.map((a) => a.text) as [string, string];
    c.mounts.push({ destination: dst, type: "bind", source: src, options: ["rbind", ...flags] });
    return;
  }
  const f = FORM_OPTIONS[form]!;
  const dst = b.positional[0]?.text ?? f.dst;
  if (form === "tmpfs" && dst === "/dev") return c.cannot(cmd, "a tmpfs on /dev", "a tmpfs on a bundle's /dev is `mount dev` (with the default devices): write `mount dev`");
  if (form === "dev") {
    if (dst !== "/dev") return c.cannot(cmd, `\`mount dev ${dst}\``, "a bundle's /dev is at /dev only");
    const other = flags.filter((x) => x !== "ro" && x !== "strictatime" && x !== "nosuid" && x !== "noexec");
    if (other.length > 0) return c.cannot(cmd, `\`${other[0]}\` on \`mount dev\``, "a bundle's /dev is nosuid,noexec, with ro and strictatime allowed");
  }
  const options = [...f.options, ...flags.filter((x) => !f.options.includes(x))];
  if (b.options.size) options.push(`size=${b.options.size.text}`);
  if (b.options.mode) options.push(`mode=${b.options.mode.text}`);
  if (b.options.gid) options.push(`gid=${b.options.gid.text}`);
  c.mounts.push({ destination: dst, type: f.type, source: form === "dev" ? "tmpfs" : f.type, options });
}

function limit(c: Compiler, cmd: Command): void {
  const b = bound(cmd);
  const r = c.resources();
  const value = b.positional[0]?.text ?? "";
  switch (b.form) {
    case "memory": {
      if (r.memory) return c.cannot(cmd, "a second `limit memory`", "keep one");
      const limit = parseSize(value)!;
      const swap = b.options.swap ? parseSize(b.options.swap.text)! : 0;
      // The spec's swap is memory and swap together (translate.ts).
      r.memory = { limit, ...(swap > 0 ? { swap: limit + swap } : {}) };
      return;
    }
    case "cpu": {
      if (r.cpu && (r.cpu as Record<string, unknown>).cpus === undefined) return c.cannot(cmd, "a second `limit cpu`", "keep one");
      if (b.options.weight) return c.cannot(cmd, "`weight=` yet", "the runtime spec's cpu takes shares: write shares=N");
      const cpu = (r.cpu ??= {}) as Record<string, unknown>;
      const pct = parsePercent(value);
      const periodMs = b.options.period ? parseDuration(b.options.period.text)! : undefined;
      const periodUs = periodMs === undefined ? 100000 : Math.round(periodMs * 1000);
      if (pct !== undefined) {
        cpu.quota = Math.round((pct / 100) * periodUs);
        if (periodMs !== undefined) cpu.period = periodUs;
      } else if (periodMs !== undefined) return c.cannot(cmd, "`period=` without a percentage", "give the share of CPU: `limit cpu 20% period=100ms`");
      if (b.options.shares) cpu.shares = Number(b.options.shares.text);
      return;
    }
    case "cpuset": {
      const cpu = (r.cpu ??= {}) as Record<string, unknown>;
      if (cpu.cpus !== undefined) return c.cannot(cmd, "a second `limit cpuset`", "keep one");
      cpu.cpus = value;
      if (b.options.mems) cpu.mems = b.options.mems.text;
      return;
    }
    case "pids":
      r.pids = { limit: Number(value) };
      return;
    case "io": {
      // blockIO keeps each value in a list of its own: translate.ts reads each back as its own `limit io` line.
      const given = Object.keys(b.options);
      if (given.length !== 1) return c.cannot(cmd, "a `limit io` line with several options", "write one option per `limit io` line: the runtime spec's blockIO keeps each in a list of its own");
      const blk = (r.blockIO ??= {}) as Record<string, unknown>;
      const n = (k: string) => (k === "rbps" || k === "wbps" ? parseSize(b.options[k]!.text)! : Number(b.options[k]!.text));
      const key = given[0]!;
      const dev = b.args["MAJOR:MINOR"]?.text;
      if (!dev) {
        if (blk.weight !== undefined) return c.cannot(cmd, "a second `limit io weight=`", "keep one");
        blk.weight = n(key);
        return;
      }
      const [major, minor] = dev.split(":").map(Number);
      const list = { weight: "weightDevice", rbps: "throttleReadBpsDevice", wbps: "throttleWriteBpsDevice", riops: "throttleReadIOPSDevice", wiops: "throttleWriteIOPSDevice" }[key]!;
      c.list(blk, list).push({ major, minor, [key === "weight" ? "weight" : "rate"]: n(key) });
      return;
    }
    default:
      c.cannot(cmd, `\`limit ${b.form}\` yet`, "the runtime spec's resources have memory, cpu, pids and blockIO");
  }
}

/** The ops whose order among themselves is the tree the container sees: kept in order by both plans. */
const TREE_OPS = new Set(["host-tree", "rootfs", "enter-root", "mount", "mount-dev", "mount-cgroup", "device-node", "readonly", "mask", "volume"]);

export interface OpView {
  /** Ops of one group keep their order; config.json's fields have no order between groups (translate.ts gives its own). */
  group: string;
  /** Its statement, its side, and its syscall lines as explain prints them: all but where it came from. */
  lines: string[];
}

export function opViews(ops: readonly Op[], derived: readonly string[][], side: (op: Op) => string): OpView[] {
  // A seccomp profile's summary names where it was read (the script's FILE, config.json's pointer): not what it does.
  const where = (op: Op, line: string) => (op.kind === "seccomp" && op.profile ? line.replace(`# seccomp ${op.profile.source}: `, "# seccomp PROFILE: ") : line);
  return ops.map((op, i) => ({ group: TREE_OPS.has(op.kind) ? "tree" : op.kind, lines: [`${op.source.split(" ")[0]} [${side(op)}]`, ...derived[i]!.map((l) => where(op, l))] }));
}

/**
 * The index (in `script`) of the first op where the bundle's plan differs from the
 * script's, group by group, or -1 when they are the same; `script.length` when the
 * bundle has an op the script lacks. A `cwd /` that the bundle has and the script
 * has not is the spec's required cwd (compileConfig): the same directory.
 */
export function firstDifference(script: OpView[], bundle: OpView[], scriptHasCwd: boolean): number {
  const b = scriptHasCwd ? bundle : bundle.filter((v) => !(v.group === "cwd" && v.lines[1]?.includes('"/"')));
  const groups = new Set([...script, ...b].map((v) => v.group));
  let first = -1;
  for (const g of groups) {
    const mine = script.map((v, i) => [v, i] as const).filter(([v]) => v.group === g);
    const theirs = b.filter((v) => v.group === g);
    for (let k = 0; k < Math.max(mine.length, theirs.length); k++) {
      if (JSON.stringify(mine[k]?.[0].lines) === JSON.stringify(theirs[k]?.lines)) continue;
      const at = mine[k]?.[1] ?? script.length;
      if (first < 0 || at < first) first = at;
      break;
    }
  }
  return first;
}

/**
 * Write the bundle at `dir`: config.json in a temporary directory beside it,
 * then renamed into place, so a reader never sees half a bundle. An existing
 * empty directory is replaced; a non-empty one is refused (throws).
 */
export function writeBundle(dir: string, text: string): void {
  const target = path.resolve(dir);
  try {
    if (!statSync(target).isDirectory()) throw new Error(`"${dir}" exists and is not a directory`);
    if (readdirSync(target).length > 0) throw new Error(`"${dir}" exists and is not empty: give a new directory with -o`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const tmp = `${target}.tmp-${process.pid}`;
  mkdirSync(tmp, { mode: 0o755 });
  try {
    writeFileSync(path.join(tmp, "config.json"), text, { mode: 0o644 });
    // rename(2) onto an empty directory replaces it atomically; onto nothing, it creates it.
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
