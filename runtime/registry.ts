// The statement table: one entry per statement of the language.
//
// This is the single source of truth the checker (lang/checker.ts), `ctr
// explain`, the REPL's completion and `:help`, and the README's language
// reference (runtime/reference.ts) are derived from. Each entry is a plain
// object literal passed through `defineStatement`.
//
// Each entry also holds the statement's `plan`: the operations it compiles to
// (runtime/ops.ts), with the syscalls behind them for `explain`.

import { NAMESPACES, type Arg, type CheckContext, type Command, type StatementSpec } from "../lang/spec.ts";
import { didYouMean } from "../lang/suggest.ts";
import { MAX_ID, MAX_NODES, itemsOf, namespacesOf, parseCpuList, parseDuration, parseInt10, parsePercent, parseSize } from "../lang/values.ts";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT } from "../native/constants.ts";
import { FS_FLAGS, flagBits, MOUNT_ATTR_NAMES, mountAttrs, REMOUNT_BITS } from "./features/mount/flags.ts";
import { flagNames } from "../native/format.ts";
import { bound, mountCall, mountOp, quote, texts, type PlanFn, type PlannedOp } from "./plan.ts";
import { INIT_FILES } from "./ops.ts";
import { KEEP_HALF } from "./features/process/capture.ts";
import { planLimit, planShowCgroup } from "./features/cgroup/plan.ts";
import { memoryFloorProblem } from "./features/cgroup/memory.ts";
import { checkCpu } from "./features/cgroup/cpu.ts";
import { limitOf } from "./features/cgroup/plan.ts";
import { SysError } from "../native/error.ts";
import { pidsFloorProblem } from "./features/cgroup/pids.ts";

/** A registry entry. Extend this interface (e.g. with `plan`) to add per-statement behaviour. */
export interface StatementDef extends StatementSpec {
  /** The statement's operations (runtime/plan.ts); absent for the scripting statements. */
  plan?: PlanFn;
  /** Set while the statement is registered but not performed yet: ctr refuses the script, saying why. */
  unsupported?: string;
  /** The same for single forms, keyed by the form word ("overlay"). */
  unsupportedForms?: Record<string, string>;
}

/** Identity helper: keeps each entry an object literal checked against StatementDef. */
export function defineStatement<T extends StatementDef>(def: T): T {
  return def;
}

// ---- shared pieces -------------------------------------------------------------


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

function checkName(what: string, max: number) {
  return (cmd: Command, ctx: CheckContext): void => {
    const a = bound(cmd).args.NAME;
    if (!a) return;
    if (a.text === "") ctx.error(a.span, `the ${what} is empty`);
    else if (a.text.length * 3 > max && Buffer.byteLength(a.text) > max) ctx.error(a.span, `the ${what} is longer than ${max} bytes`, `the kernel limit is ${max} bytes`);
  };
}

/**
 * A host path that must exist when the script runs (a rootfs, a bind source,
 * an overlay layer): checked on the host now, when the caller lets the checker
 * look, so that `ctr check` and the REPL refuse what the run would.
 */
function checkHostPath(ctx: CheckContext, arg: Arg, path: string, what: string, dir: boolean, help: string): void {
  const kind = ctx.host?.kind(path);
  if (kind === undefined) return;
  if (kind === null) ctx.error(arg.span, `${what} "${path}" does not exist on the host`, help);
  else if (dir && kind !== "dir") ctx.error(arg.span, `${what} "${path}" is not a directory on the host`, help);
}

// ---- the table -------------------------------------------------------------------

// ---- plans ---------------------------------------------------------------------

const KERNEL_FS_BITS = MS_NOSUID | MS_NODEV | MS_NOEXEC;


// Mount forms: [fstype, default target, base flags, data]
const SIMPLE_FS: Record<string, [string, string, number, string | null]> = {
  proc: ["proc", "/proc", KERNEL_FS_BITS, null],
  sysfs: ["sysfs", "/sys", KERNEL_FS_BITS, null],
  mqueue: ["mqueue", "/dev/mqueue", KERNEL_FS_BITS, null],
  devpts: ["devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"],
};

const planMount: PlanFn = (cmd) => {
  const b = bound(cmd);
  const form = b.form!;
  const rest = b.flags;
  const positional = texts(b.positional);
  const opts = b.options;
  const simple = SIMPLE_FS[form];
  if (simple) {
    const [fstype, def, base, data] = simple;
    const { flags, ro } = flagBits(rest, base);
    // Kernel filesystems take MS_RDONLY directly; no remount needed.
    return [mountOp(form, { source: fstype, target: positional[0] ?? def, fstype, flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
  }
  switch (form) {
    case "tmpfs": {
      const { flags, ro } = flagBits(rest, MS_NOSUID | MS_NODEV);
      const data = ["size", "mode"].filter((k) => opts[k]).map((k) => `${k}=${opts[k]!.text}`).join(",") || null;
      return [mountOp(form, { source: "tmpfs", target: positional[0]!, fstype: "tmpfs", flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
    }
    case "bind": {
      const { flags, ro } = flagBits(rest, MS_BIND | MS_REC);
      const m = { source: positional[0]!, target: positional[1]!, fstype: null, flags, data: null };
      const explain = () => {
        const extra = flags & REMOUNT_BITS;
        const lines = [
          `openat2(HOST_TREE, ${quote(m.source)}, O_PATH, RESOLVE_IN_ROOT)  # SRC is a host path: looked up in PID 1's copy of the host's mount tree`,
          `open_tree(SRC_FD, "", OPEN_TREE_CLONE|AT_EMPTY_PATH|AT_RECURSIVE|OPEN_TREE_CLOEXEC)`,
          `mkdir -p ${m.target}`,
          `move_mount(TREE_FD, "", AT_FDCWD, ${quote(m.target)}, MOVE_MOUNT_F_EMPTY_PATH)`,
        ];
        if (ro || extra) lines.push(mountCall({ source: null, target: m.target, fstype: null, flags: MS_BIND | MS_REMOUNT | (ro ? MS_RDONLY : 0) | extra, data: null }));
        return lines;
      };
      return [{ kind: "mount", what: form, mount: m, remountRo: ro, side: "pid1", explain }];
    }
    case "overlay": {
      const { flags, ro } = flagBits(rest, 0);
      const lower = (opts.lower?.text ?? "").split(":");
      const layers = { lower, ...(opts.upper ? { upper: opts.upper.text, work: opts.work?.text ?? "" } : {}) };
      const data = [`lowerdir=${opts.lower?.text ?? ""}`];
      if (opts.upper) data.push(`upperdir=${opts.upper.text}`, `workdir=${opts.work?.text ?? ""}`);
      const m = { source: "overlay", target: positional[0]!, fstype: "overlay", flags: flags | (ro ? MS_RDONLY : 0), data: data.join(","), layers };
      const explain = () => [
        `mkdir -p ${m.target}`,
        `fsopen("overlay", FSOPEN_CLOEXEC)  # the layers are host paths, given as descriptors opened in PID 1's copy of the host's mount tree`,
        ...lower.map((d) => `fsconfig(FS_FD, FSCONFIG_SET_FD, "lowerdir+", NULL, openat2(HOST_TREE, ${quote(d)}, O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT))`),
        ...(layers.upper !== undefined ? [`fsconfig(FS_FD, FSCONFIG_SET_FD, "upperdir", NULL, openat2(HOST_TREE, ${quote(layers.upper)}, O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT))`] : []),
        ...(layers.work !== undefined ? [`fsconfig(FS_FD, FSCONFIG_SET_FD, "workdir", NULL, openat2(HOST_TREE, ${quote(layers.work)}, O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT))`] : []),
        `fsconfig(FS_FD, FSCONFIG_CMD_CREATE, NULL, NULL, 0)`,
        `fsmount(FS_FD, FSMOUNT_CLOEXEC, ${mountAttrs(m.flags) ? flagNames(mountAttrs(m.flags), MOUNT_ATTR_NAMES) : "0"})`,
        `move_mount(MNT_FD, "", AT_FDCWD, ${quote(m.target)}, MOVE_MOUNT_F_EMPTY_PATH)`,
      ];
      return [{ kind: "mount", what: form, mount: m, remountRo: false, side: "pid1", explain }];
    }
    case "dev": {
      const target = positional[0] ?? "/dev";
      const { ro } = flagBits(rest, 0);
      const explain = () => [
        mountCall({ source: "tmpfs", target, fstype: "tmpfs", flags: MS_NOSUID | MS_NOEXEC, data: "mode=755,size=65536k" }),
        `mknod(${target}/{null,zero,full,random,urandom,tty}, S_IFCHR|0666)  # bind-mounted from the host's /dev in a user namespace`,
        `symlink ptmx -> pts/ptmx, fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2`,
        `mkdir ${target}/pts ${target}/shm`,
      ];
      return [{ kind: "mount-dev", target, ro, side: "pid1", explain }];
    }
  }
  return [];
};

function rootfsPlan(mode: "pivot" | "chroot"): PlanFn {
  return (cmd, ctx) => {
    const dir = bound(cmd).args.DIR!.text;
    const initFiles = { dir: ctx.stateDir };
    if (dir === "default") {
      const overlay = { lower: ctx.defaultRootfs, scratch: `${ctx.stateDir}/scratch`, merged: `${ctx.stateDir}/root` };
      const explain = () => [
        `# the embedded default rootfs (built on first use into ${ctx.defaultRootfs}), writable through an overlay`,
        mountCall({ source: "tmpfs", target: overlay.scratch, fstype: "tmpfs", flags: 0, data: "mode=755" }),
        mountCall({ source: "overlay", target: overlay.merged, fstype: "overlay", flags: 0, data: `lowerdir=${overlay.lower},upperdir=${overlay.scratch}/upper,workdir=${overlay.scratch}/work` }),
        ...INIT_FILES.map((f) => mountCall({ source: `${ctx.stateDir}/${f}`, target: `${overlay.merged}/etc/${f}`, fstype: null, flags: MS_BIND, data: null })),
      ];
      return [{ kind: "rootfs", dir, mode, overlay, initFiles, side: "pid1", explain }];
    }
    const explain = () => [
      mountCall({ source: dir, target: dir, fstype: null, flags: MS_BIND | MS_REC, data: null }) + "  # pivot_root needs a mount point",
      ...INIT_FILES.map((f) => mountCall({ source: `${ctx.stateDir}/${f}`, target: `${dir}/etc/${f}`, fstype: null, flags: MS_BIND, data: null }) + "  # if the rootfs has it"),
    ];
    return [{ kind: "rootfs", dir, mode, overlay: null, initFiles, side: "pid1", explain }];
  };
}

/** A command and its arguments (`run`, `exec`): the rest argument, everything after the statement's name. */
function argv(cmd: Command): string[] {
  return bound(cmd).rest.map((a) => a.text);
}

function expectPlan(cmd: Command): PlannedOp[] {
  const b = bound(cmd);
  const subject = b.form as "exit" | "output";
  const [test, value] = subject === "exit" ? ["==", b.args.CODE!.text] : [b.args.TEST!.text, b.args.TEXT!.text];
  return [{ kind: "expect", subject, test: test as "==", value, side: "front", explain: () => [`check the last run: ${subject} ${test} ${JSON.stringify(value)}`] }];
}


/** `rootfs` and `chroot`: the container's new root, entered by pivot_root or chroot. */
function rootStatement(name: "rootfs" | "chroot", mode: "pivot" | "chroot", syntax: string, example: string, summary: string): StatementDef {
  return defineStatement({
    name,
    summary,
    syntax,
    example,
    plan: rootfsPlan(mode),
    side: "pid1",
    requires: ["mnt"],
    affects: "the host's mounts",
    container: true,
    exclusive: "root",
    args: [{ name: "DIR", kind: "path" }],
    check: (cmd, ctx) => {
      const dir = bound(cmd).args.DIR;
      if (dir && dir.text !== "default") checkHostPath(ctx, dir, dir.text, name, true, name === "rootfs" ? "create it (e.g. `ctr rootfs busybox DIR`), or use `rootfs default`" : "create it, e.g. with `ctr rootfs busybox DIR`");
    },
  });
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
      return [{ kind: name, name: value, side: "pid1", explain: () => [`${syscall}(${quote(value)})`] }];
    },
    side: "pid1",
    requires: ["uts"],
    affects: `the host's ${what}`,
    container: true,
    args: [{ name: "NAME", kind: "word" }],
    check: checkName(what, 64),
  });
}

export const statements: StatementDef[] = [
  defineStatement({
    name: "ns",
    summary: "Create the container's namespaces: a fresh process that unshares them (`ns none`: a plain child process).",
    syntax: "ns NS[, NS...] | ns none",
    example: "ns uts, pid, mnt",
    plan: () => [{ kind: "unshare", namespaces: [], side: "creator", explain: [] }],
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
  }),
  utsName("hostname", "hostname", "sethostname", 'hostname "container"', "Set the container's hostname (in its own UTS namespace)."),
  utsName("domainname", "domain name", "setdomainname", "domainname example.org", "Set the container's NIS domain name (in its own UTS namespace)."),
  defineStatement({
    name: "map",
    summary: "Map a range of user or group ids of the container's user namespace to ids outside it.",
    syntax: "map uid|gid INSIDE OUTSIDE COUNT",
    example: "map uid 0 1000 1",
    plan: (cmd) => {
      const b = bound(cmd);
      const which = b.form as "uid" | "gid";
      const [inside, outside, count] = [b.args.INSIDE!.text, b.args.OUTSIDE!.text, b.args.COUNT!.text];
      const line = { inside: Number(inside), outside: Number(outside), count: Number(count) };
      return [{ kind: "idmap", which, line, side: "host", explain: () => [`write /proc/STAGE1/${which}_map = "${inside} ${outside} ${count}"  # before stage 1 goes on`] }];
    },
    side: "host",
    requires: ["user"],
    container: true,
    forms: {
      uid: {
        summary: "Map user ids: INSIDE..INSIDE+COUNT-1 in the container are OUTSIDE.. on the host.",
        syntax: "map uid INSIDE OUTSIDE COUNT",
        example: "map uid 0 1000 1",
        args: [
          { name: "INSIDE", kind: "idrange" },
          { name: "OUTSIDE", kind: "idrange" },
          { name: "COUNT", kind: "int" },
        ],
      },
      gid: {
        summary: "Map group ids, the same way.",
        syntax: "map gid INSIDE OUTSIDE COUNT",
        example: "map gid 0 1000 1",
        args: [
          { name: "INSIDE", kind: "idrange" },
          { name: "OUTSIDE", kind: "idrange" },
          { name: "COUNT", kind: "int" },
        ],
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
  }),
  rootStatement("rootfs", "pivot", "rootfs DIR|default", "rootfs default", "Make DIR the container's root filesystem (pivot_root); `default` is the embedded minimal rootfs."),
  rootStatement("chroot", "chroot", "chroot DIR", "chroot /srv/rootfs", "Change the container's root directory with chroot (the weaker, escapable cousin of `rootfs`)."),
  defineStatement({
    name: "mount",
    summary: "Mount a filesystem in the container's mount namespace.",
    syntax: "mount proc|sysfs|tmpfs|dev|devpts|mqueue|bind|overlay ...",
    example: "mount tmpfs /tmp size=64m",
    plan: planMount,
    notForms: {
      devtmpfs:
        "ctr builds /dev itself with `mount dev` (a tmpfs with null, zero, full, random, urandom, tty), as runc does: devtmpfs is the host's one device filesystem, and mounting it would give the container every device of the host",
    },
    side: "pid1",
    requires: ["mnt"],
    affects: "the host's mounts",
    container: true,
    forms: {
      proc: {
        summary: "procfs: shows the processes of the container's PID namespace (with `ns pid`).",
        syntax: "mount proc [DST] [FLAGS]",
        example: "mount proc",
        args: [{ name: "DST", kind: "path", optional: true, default: "/proc" }],
        flags: FS_FLAGS,
      },
      sysfs: {
        summary: "sysfs: the kernel's view of devices and drivers.",
        syntax: "mount sysfs [DST] [FLAGS]",
        example: "mount sysfs /sys ro",
        args: [{ name: "DST", kind: "path", optional: true, default: "/sys" }],
        flags: FS_FLAGS,
      },
      tmpfs: {
        summary: "A memory-backed filesystem.",
        syntax: "mount tmpfs DST [size=SIZE] [mode=MODE] [FLAGS]",
        example: "mount tmpfs /tmp size=64m mode=1777",
        args: [{ name: "DST", kind: "path" }],
        options: { size: "size", mode: "mode" },
        flags: [...FS_FLAGS, "rw"],
      },
      dev: {
        summary: "A minimal /dev: a tmpfs with null, zero, full, random, urandom, tty and the usual links.",
        syntax: "mount dev [DST] [FLAGS]",
        example: "mount dev",
        args: [{ name: "DST", kind: "path", optional: true, default: "/dev" }],
        flags: FS_FLAGS,
      },
      devpts: {
        summary: "A private devpts instance for pseudo-terminals.",
        syntax: "mount devpts [DST] [FLAGS]",
        example: "mount devpts",
        args: [{ name: "DST", kind: "path", optional: true, default: "/dev/pts" }],
        flags: FS_FLAGS,
      },
      mqueue: {
        summary: "The POSIX message queue filesystem (of the IPC namespace).",
        syntax: "mount mqueue [DST] [FLAGS]",
        example: "mount mqueue",
        args: [{ name: "DST", kind: "path", optional: true, default: "/dev/mqueue" }],
        flags: FS_FLAGS,
      },
      bind: {
        summary: "Make SRC, a host path, also visible at DST. SRC is always the host's, wherever the statement is: PID 1 looks it up in a copy of the host's mount tree taken before the script's first mount (open_tree + move_mount), so neither `rootfs` nor a mount over the same path inside changes what it names.",
        syntax: "mount bind SRC DST [ro|rw] [rec] [FLAGS]",
        example: "mount bind /etc/resolv.conf /etc/resolv.conf ro",
        args: [
          { name: "SRC", kind: "path" },
          { name: "DST", kind: "path" },
        ],
        flags: [...FS_FLAGS, "rw", "rec"],
        check: (cmd, ctx) => {
          const src = bound(cmd).args.SRC;
          if (src) checkHostPath(ctx, src, src.text, "bind source", false, "bind sources are host paths: give one that exists on the host");
        },
      },
      overlay: {
        summary: "Layers: read-only LOWER directories (first on top) under a writable UPPER. All are host paths, as for `mount bind`: PID 1 opens them in its copy of the host's mount tree and gives them to the kernel as descriptors (fsopen + fsconfig).",
        syntax: "mount overlay DST lower=DIR[:DIR...] [upper=DIR work=DIR] [FLAGS]",
        example: "mount overlay /merged lower=/layers/base upper=/layers/top work=/layers/work",
        args: [{ name: "DST", kind: "path" }],
        options: { lower: "path", upper: "path", work: "path" },
        requiredOptions: ["lower"],
        flags: [...FS_FLAGS, "rw"],
        check: (cmd, ctx) => {
          const { upper, work, lower } = bound(cmd).options;
          if (upper && !work) ctx.error(cmd.args[0]!.span, "`upper=` needs a `work=` directory too", "add work=DIR on the same filesystem as the upper directory");
          if (work && !upper) ctx.error(cmd.args[0]!.span, "`work=` is only used with `upper=`", "add upper=DIR, or remove work=");
          const layers: [Arg | undefined, string[]][] = [[lower, lower ? lower.text.split(":") : []], [upper, upper ? [upper.text] : []], [work, work ? [work.text] : []]];
          for (const [arg, paths] of layers) for (const p of paths) if (arg && p) checkHostPath(ctx, arg, p, "overlay layer", true, "overlay layers are host directories: create it first");
        },
      },
    },
  }),
  defineStatement({
    name: "volume",
    summary: "A Docker-style volume: bind SRC at DST, or an anonymous volume (kept after the container) at DST.",
    syntax: "volume SRC:DST|DST [ro]",
    example: "volume /srv/data:/data",
    unsupported: "volumes are chapter 12 of the walkthroughs, not written yet (README, \"Examples\"); `mount bind SRC DST` binds a host path meanwhile",
    side: "pid1",
    requires: ["mnt"],
    affects: "the host's mounts",
    container: true,
    args: [{ name: "SRC:DST", kind: "word" }],
    flags: ["ro"],
    check: (cmd, ctx) => {
      const a = bound(cmd).positional[0];
      if (!a) return;
      const parts = a.text.split(":");
      if (parts.length > 2 || parts.some((p) => p === "")) {
        ctx.error(a.span, `malformed volume \`${a.text}\``, "write SRC:DST (a host path and a container path) or just DST");
        return;
      }
      const dst = parts[parts.length - 1]!;
      if (!dst.startsWith("/")) ctx.error(a.span, `the volume's destination \`${dst}\` is not an absolute path`, `write it from the container's root: /${dst}`);
    },
  }),
  defineStatement({
    name: "limit",
    summary: "Limit the container's resources with cgroups (v1 or v2, found at run time).",
    syntax: "limit cpu|memory|pids|cpuset VALUE [OPTIONS]",
    example: "limit memory 64m",
    plan: planLimit,
    side: "host",
    container: true,
    forms: {
      cpu: {
        summary: "CPU time: 20% is a fifth of one CPU, 200% two CPUs' worth; or relative weight.",
        syntax: "limit cpu [PERCENT] [period=DURATION] [weight=1..10000] [shares=N]",
        example: "limit cpu 20%",
        args: [{ name: "PERCENT", kind: "percent", optional: true }],
        options: { period: "duration", weight: "int", shares: "int" },
        check: (cmd, ctx) => {
          const { args, options } = bound(cmd);
          const pct = args.PERCENT;
          const hasOptions = Object.keys(options).length > 0;
          if (!pct && !hasOptions) {
            ctx.error(cmd.args[0]!.span, "`limit cpu` needs a percentage or an option", "e.g. limit cpu 20%  or  limit cpu weight=100");
          }
          if (pct) {
            const v = parsePercent(pct.text) ?? NaN;
            const max = 100 * ctx.cpus;
            if (v === 0) ctx.error(pct.span, "a CPU limit of 0% would stop the container", "give a positive percentage, e.g. 20%");
            else if (v > max)
              ctx.error(pct.span, `\`${pct.text}\` is more than the ${ctx.cpus} CPU${ctx.cpus === 1 ? "" : "s"} of this machine can give (${max}%)`, `100% is one whole CPU; use at most ${max}%`);
          }
          const period = options.period;
          if (period) {
            const ms = parseDuration(period.text);
            if (ms !== undefined && (ms < 1 || ms > 1000)) ctx.error(period.span, "the period must be between 1ms and 1s", "the default is 100ms");
          }
          const weight = options.weight;
          if (weight) {
            const w = parseInt10(weight.text);
            if (w !== undefined && (w < 1 || w > 10000)) ctx.error(weight.span, `weight \`${weight.text}\` is out of range`, "a cgroup v2 weight goes from 1 to 10000 (default 100)");
          }
          const shares = options.shares;
          if (shares) {
            const s = parseInt10(shares.text);
            if (s !== undefined && s < 2) ctx.error(shares.span, "shares must be at least 2", "the cgroup v1 default is 1024");
          }
          // What the kernel would refuse whatever the moment (a quota below its minimum): the run's own check, now.
          try {
            const limit = limitOf(cmd);
            if (limit.controller === "cpu" && limit.percent !== 0) checkCpu(limit);
          } catch (e) {
            if (e instanceof SysError) ctx.error((pct ?? shares ?? cmd.args[0]!).span, e.message, e.hint);
          }
        },
      },
      memory: {
        summary: "Memory: the container is OOM-killed when it goes over SIZE.",
        syntax: "limit memory SIZE [swap=SIZE]",
        example: "limit memory 64m",
        args: [{ name: "SIZE", kind: "size" }],
        options: { swap: "size" },
        check: (cmd, ctx) => {
          const size = bound(cmd).positional[0];
          const bytes = size ? parseSize(size.text) : undefined;
          if (size && bytes === 0) ctx.error(size.span, "a memory limit of 0 would kill the container at once", "give a size, e.g. 64m");
          else if (size && bytes !== undefined) {
            const problem = memoryFloorProblem(bytes);
            if (problem) ctx.error(size.span, problem.message, problem.hint);
          }
        },
      },
      pids: {
        summary: "Number of processes (and threads): fork fails beyond COUNT.",
        syntax: "limit pids COUNT",
        example: "limit pids 64",
        args: [{ name: "COUNT", kind: "int" }],
        check: (cmd, ctx) => {
          const n = bound(cmd).positional[0];
          const max = n ? parseInt10(n.text) : undefined;
          const problem = max !== undefined ? pidsFloorProblem(max) : null;
          if (n && problem) ctx.error(n.span, problem.message, problem.hint);
        },
      },
      cpuset: {
        summary: "Which CPUs (and memory nodes) the container may run on.",
        syntax: "limit cpuset CPUS [mems=NODES]",
        example: "limit cpuset 0",
        args: [{ name: "CPUS", kind: "cpus" }],
        options: { mems: "cpus" },
        check: (cmd, ctx) => {
          const a = bound(cmd).positional[0];
          if (!a) return;
          const cpus = parseCpuList(a.text.replace(/\s/g, ""));
          const bad = cpus?.find((c) => c >= ctx.cpus);
          if (bad !== undefined) ctx.error(a.span, `CPU ${bad} does not exist`, `this machine has ${ctx.cpus} CPU${ctx.cpus === 1 ? "" : "s"}: ${ctx.cpus === 1 ? "0" : `0-${ctx.cpus - 1}`}`);
          const mems = bound(cmd).options.mems;
          const node = mems ? parseCpuList(mems.text)?.find((n) => n >= MAX_NODES) : undefined;
          if (mems && node !== undefined) ctx.error(mems.span, `\`${node}\` is out of range for mems=`, `the kernel numbers memory nodes from 0 to ${MAX_NODES - 1} at most`);
        },
      },
    },
  }),
  defineStatement({
    name: "net",
    summary: "Network: bring up loopback, or connect the container to the host with a veth pair or a bridge.",
    syntax: "net lo up | net veth host=CIDR ctr=CIDR | net bridge NAME ctr=CIDR",
    example: "net lo up",
    unsupported: "networking is chapter 10 of the walkthroughs, not written yet (README, \"Examples\")",
    side: "host",
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
  }),
  defineStatement({
    name: "join",
    summary: "Enter namespaces of the running container NAME (setns), like `docker exec`.",
    syntax: "join NAME NS[, NS...]",
    example: "join web pid, net, mnt",
    unsupported: "joining a running container is chapter 13 of the walkthroughs, not written yet (README, \"Examples\")",
    side: "creator",
    joinsNamespaces: true,
    args: [
      { name: "NAME", kind: "word" },
      { name: "NS", kind: "nslist", rest: true },
    ],
    check: (cmd, ctx) => {
      for (const it of bound(cmd).rest.flatMap(itemsOf)) {
        if (it.text === "none") ctx.error(it.span, "`none` is not a namespace to join", `name the namespaces to enter: ${NAMESPACES.join(", ")}`);
      }
    },
  }),
  defineStatement({
    name: "env",
    summary: "Set environment variables for the commands run in the container.",
    syntax: "env NAME=VALUE...",
    example: "env PATH=/bin:/usr/bin HOME=/root",
    plan: (cmd) => {
      const vars: Record<string, string> = {};
      for (const [k, v] of Object.entries(bound(cmd).options)) vars[k] = v.text;
      return [{ kind: "env", vars, side: "pid1", explain: () => Object.entries(vars).map(([k, v]) => `environment of later commands: ${k}=${JSON.stringify(v)}`) }];
    },
    side: "pid1",
    container: true,
    options: { "*": "text" },
    check: (cmd, ctx) => {
      const spans = Object.entries(bound(cmd).optionSpans);
      if (spans.length === 0) ctx.error(cmd.nameSpan, "`env` needs at least one NAME=VALUE", "syntax: env NAME=VALUE...");
      for (const [key, span] of spans) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) ctx.error({ ...span, length: key.length }, `invalid environment variable name \`${key}\``, "a name is letters, digits and `_`");
      }
    },
  }),
  defineStatement({
    name: "cwd",
    summary: "Working directory for the commands run in the container.",
    syntax: "cwd DIR",
    example: "cwd /tmp",
    plan: (cmd) => {
      const dir = bound(cmd).args.DIR!.text;
      return [{ kind: "cwd", dir, side: "pid1", explain: () => [`working directory of later commands: ${quote(dir)} (chdir before execve)`] }];
    },
    side: "pid1",
    container: true,
    args: [{ name: "DIR", kind: "path" }],
  }),
  defineStatement({
    name: "user",
    summary: "Run the container's commands as UID (and GID).",
    syntax: "user UID[:GID]",
    example: "user 1000:1000",
    unsupported: "switching user comes with process setup",
    side: "pid1",
    container: true,
    args: [{ name: "UID[:GID]", kind: "word" }],
    check: (cmd, ctx) => {
      const a = bound(cmd).positional[0];
      if (!a) return;
      const m = /^(\d+)(?::(\d+))?$/.exec(a.text);
      if (!m) ctx.error(a.span, `malformed user \`${a.text}\``, "write numeric ids: UID or UID:GID, e.g. 1000:1000");
      else if (Number(m[1]) > MAX_ID || Number(m[2] ?? 0) > MAX_ID) ctx.error(a.span, `id out of range in \`${a.text}\``, `ids go from 0 to ${MAX_ID}`);
    },
  }),
  defineStatement({
    name: "cap",
    summary: "Drop or add capabilities of the container's processes.",
    syntax: "cap drop|add CAP...|all",
    example: "cap drop all",
    unsupported: "capabilities come with process setup",
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
  }),
  defineStatement({
    name: "seccomp",
    summary: "Filter the container's system calls: the default profile, none, or a JSON profile FILE.",
    syntax: "seccomp default|none|FILE",
    example: "seccomp default",
    unsupported: "seccomp comes with process setup",
    side: "pid1",
    container: true,
    args: [{ name: "PROFILE", kind: "path" }],
  }),
  defineStatement({
    name: "rlimit",
    summary: "Set a resource limit (setrlimit) for the container's processes.",
    syntax: "rlimit NAME SOFT[:HARD]",
    example: "rlimit nofile 1024:4096",
    unsupported: "resource limits come with process setup",
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
  }),
  defineStatement({
    name: "readonly",
    summary: "Make PATH (`/` for the whole root) read-only in the container.",
    syntax: "readonly PATH",
    example: "readonly /",
    unsupported: "read-only paths come with process setup",
    side: "pid1",
    requires: ["mnt"],
    affects: "the host's mounts",
    container: true,
    args: [{ name: "PATH", kind: "path" }],
  }),
  defineStatement({
    name: "run",
    summary: "Run a command in the container and wait for it; the container stays up for more statements.",
    syntax: "run CMD [ARGS...]",
    example: 'run /bin/sh -c "echo hello"',
    plan: (cmd) => [{ kind: "run", argv: argv(cmd), capture: false, side: "pid1", explain: () => [`spawn ${JSON.stringify(argv(cmd))} inside and wait for it`] }],
    side: "pid1",
    container: true,
    args: [{ name: "CMD", kind: "text", rest: true }],
  }),
  defineStatement({
    name: "exec",
    summary: "Replace the container's PID 1 with a command (execve): the last statement acting on the container.",
    syntax: "exec CMD [ARGS...]",
    example: "exec /bin/sh",
    plan: (cmd) => [{ kind: "exec", argv: argv(cmd), side: "pid1", explain: () => [`execve(${quote(argv(cmd)[0]!)}, ${JSON.stringify(argv(cmd))})  # the command replaces PID 1`] }],
    side: "pid1",
    container: true,
    final: true,
    args: [{ name: "CMD", kind: "text", rest: true }],
  }),
  defineStatement({
    name: "show",
    summary: "Print what the kernel says now: namespaces, mounts, processes, cgroup or id maps.",
    syntax: "show ns|mounts|procs|cgroup|ids",
    example: "show ns",
    plan: (cmd, ctx) => {
      if (bound(cmd).form === "cgroup") return planShowCgroup(cmd, ctx);
      const what = bound(cmd).form as "ns" | "mounts" | "procs" | "ids";
      const src = {
        ns: "/proc/PID1/ns/* next to /proc/self/ns/*",
        mounts: "/proc/PID1/mountinfo",
        procs: "/proc/*/ns/pid and /proc/*/status (NSpid)",
        ids: "/proc/PID1/status (Uid, Gid, Cap*), /proc/PID1/uid_map and gid_map",
      }[what];
      return [{ kind: "show", what, side: "host", explain: () => [`read ${src}`] }];
    },
    side: "host",
    forms: {
      ns: { summary: "The namespaces of the container next to the host's.", syntax: "show ns", example: "show ns" },
      mounts: { summary: "The container's mount table.", syntax: "show mounts", example: "show mounts" },
      procs: { summary: "The processes the container can see, with their PIDs inside and outside.", syntax: "show procs", example: "show procs" },
      cgroup: { summary: "The container's cgroup, its limits and usage.", syntax: "show cgroup", example: "show cgroup" },
      ids: { summary: "The uid and gid maps of the container's user namespace.", syntax: "show ids", example: "show ids" },
    },
  }),
  defineStatement({
    name: "echo",
    summary: "Print a message (from ctr itself, not from the container).",
    syntax: "echo TEXT...",
    example: 'echo "the container is ready"',
    plan: (cmd) => [{ kind: "echo", text: argv(cmd).join(" "), side: "front", explain: () => ["print"] }],
    side: "front",
    args: [{ name: "TEXT", kind: "text", rest: true, optional: true }],
  }),
  defineStatement({
    name: "expect",
    summary: "Check the result of the last `run`; the script fails if the check does not hold.",
    syntax: 'expect exit CODE | expect output ==|!=|contains|matches "TEXT"',
    example: "expect exit 0",
    plan: expectPlan,
    side: "front",
    after: ["run"],
    forms: {
      exit: {
        summary: "The exit status of the last `run` is CODE (128+N when killed by signal N).",
        syntax: "expect exit CODE",
        example: "expect exit 0",
        args: [{ name: "CODE", kind: "int" }],
        check: (cmd, ctx) => {
          const a = bound(cmd).args.CODE;
          if (a && Number(a.text) > 255) ctx.error(a.span, `exit status ${a.text} is out of range`, "an exit status goes from 0 to 255");
        },
      },
      output: {
        summary:
          'The output of the last `run` (trailing newline removed) is (==), is not (!=), contains, or matches (a JavaScript regular expression) "TEXT". ' +
          `The output streams through as it comes and is not kept whole: ==, != and contains are decided exactly as it streams, at any size; ` +
          `matches sees all of an output up to ${(2 * KEEP_HALF) >> 20} MiB, else its first and its last ${KEEP_HALF >> 10} KiB, each on its own (a match across the middle is not found).`,
        syntax: 'expect output ==|!=|contains|matches "TEXT"',
        example: 'expect output contains "hello"',
        args: [
          { name: "TEST", kind: { oneOf: ["==", "!=", "contains", "matches"] } },
          { name: "TEXT", kind: "text" },
        ],
        check: (cmd, ctx) => {
          const { TEST: test, TEXT: text } = bound(cmd).args;
          if (test?.text === "matches" && text) {
            try {
              new RegExp(text.text);
            } catch (e) {
              ctx.error(text.span, `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`);
            }
          }
        },
      },
    },
  }),
  defineStatement({
    name: "sleep",
    summary: "Wait for a while (500ms, 2s, 1m).",
    syntax: "sleep DURATION",
    example: "sleep 500ms",
    plan: (cmd) => {
      const ms = parseDuration(bound(cmd).args.DURATION!.text) ?? 0; // checked: a valid duration
      return [{ kind: "sleep", ms, side: "front", explain: () => [`sleep ${ms} ms`] }];
    },
    side: "front",
    args: [{ name: "DURATION", kind: "duration" }],
  }),
];

const byName = new Map<string, StatementDef>(statements.map((s) => [s.name, s]));

/** The registry entry of a statement, by name. */
export function findStatement(name: string): StatementDef | undefined {
  return byName.get(name);
}

/** Statement names, for completion and "did you mean". */
export function statementNames(): string[] {
  return [...byName.keys()];
}

/** "did you mean" for a statement name (used by the REPL's :help). */
export function suggestStatement(name: string): string | undefined {
  return didYouMean(name, byName.keys());
}

/** All namespace names given to `ns`/`join` commands (lists flattened, `none` left out). */
export function requestedNamespaces(cmds: readonly Command[]): string[] {
  const out: string[] = [];
  for (const c of cmds) if (byName.get(c.name)?.createsNamespaces || byName.get(c.name)?.joinsNamespaces) out.push(...namespacesOf(c.name === "join" ? c.args.slice(1) : c.args).filter((n) => n !== "none"));
  return out;
}

