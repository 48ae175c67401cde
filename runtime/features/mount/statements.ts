// Mounts in the container's mount namespace: `mount` and its forms, `volume`, `readonly`.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { type Arg } from "../../../lang/spec.ts";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from "../../../native/constants.ts";
import { FS_FLAGS, flagBits, STRICTATIME } from "../mount/flags.ts";
import { bound, mountOp, texts, type PlanFn } from "../../plan.ts";
import { checkHostPath, defineStatement } from "../../statement.ts";
import { parseVolume, planVolume, VOLUME_NAME } from "../image/volume.ts";

const KERNEL_FS_BITS = MS_NOSUID | MS_NODEV | MS_NOEXEC;


// Mount forms: [fstype, default target, base flags, data]
const SIMPLE_FS: Record<string, [string, string, number, string | null]> = {
  proc: ["proc", "/proc", KERNEL_FS_BITS, null],
  sysfs: ["sysfs", "/sys", KERNEL_FS_BITS, null],
  mqueue: ["mqueue", "/dev/mqueue", KERNEL_FS_BITS, null],
  devpts: ["devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"],
};

const planMount: PlanFn = (cmd, ctx) => {
  const b = bound(cmd);
  const form = b.form!;
  const rest = b.flags;
  const positional = texts(b.positional);
  const opts = b.options;
  const simple = SIMPLE_FS[form];
  if (simple) {
    const [fstype, def, base, fixed] = simple;
    const data = opts.gid ? `${fixed},gid=${opts.gid.text}` : fixed;
    const { flags, ro } = flagBits(rest, base);
    // Kernel filesystems take MS_RDONLY directly; no remount needed.
    return [mountOp(form, { source: fstype, target: positional[0] ?? def, fstype, flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
  }
  switch (form) {
    case "tmpfs": {
      const { flags, ro } = flagBits(rest, MS_NOSUID | MS_NODEV);
      const size = opts.size ? `size=${opts.size.text}` : null;
      const mode = opts.mode ? `mode=${opts.mode.text}` : null;
      const data = size && mode ? `${size},${mode}` : (size ?? mode);
      return [mountOp(form, { source: "tmpfs", target: positional[0]!, fstype: "tmpfs", flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
    }
    case "bind": {
      const { flags, ro } = flagBits(rest, MS_BIND | MS_REC);
      const m = { source: positional[0]!, target: positional[1]!, fstype: null, flags, data: null };
      return [{ kind: "mount", what: form, mount: m, remountRo: ro, side: "pid1" }];
    }
    case "overlay": {
      const { flags, ro } = flagBits(rest, 0);
      const lower = (opts.lower?.text ?? "").split(":");
      const layers = { lower, ...(opts.upper ? { upper: opts.upper.text, work: opts.work?.text ?? "" } : {}) };
      const data = [`lowerdir=${opts.lower?.text ?? ""}`];
      if (opts.upper) data.push(`upperdir=${opts.upper.text}`, `workdir=${opts.work?.text ?? ""}`);
      const m = { source: "overlay", target: positional[0]!, fstype: "overlay", flags: flags | (ro ? MS_RDONLY : 0), data: data.join(","), layers };
      return [{ kind: "mount", what: form, mount: m, remountRo: false, side: "pid1" }];
    }
    case "cgroup": {
      const { flags, ro } = flagBits(rest, KERNEL_FS_BITS);
      return [{ kind: "mount-cgroup", target: positional[0] ?? "/sys/fs/cgroup", ro, flags, cgroupns: ctx.namespaces.has("cgroup"), side: "pid1" }];
    }
    case "dev": {
      const target = positional[0] ?? "/dev";
      const { ro } = flagBits(rest, 0);
      return [{ kind: "mount-dev", target, ro, ...(rest.has(STRICTATIME) ? { strictatime: true } : {}), side: "pid1" }];
    }
  }
  return [];
};

export const mountStatement = defineStatement({
  name: "mount",
  summary: "Mount a filesystem in the container's mount namespace.",
  syntax: "mount proc|sysfs|tmpfs|dev|devpts|mqueue|cgroup|bind|overlay ...",
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
      flags: [...FS_FLAGS, "rw", STRICTATIME],
    },
    dev: {
      summary: "A minimal /dev: a tmpfs with null, zero, full, random, urandom, tty and the usual links.",
      syntax: "mount dev [DST] [FLAGS]",
      example: "mount dev",
      args: [{ name: "DST", kind: "path", optional: true, default: "/dev" }],
      flags: [...FS_FLAGS, STRICTATIME],
    },
    devpts: {
      summary: "A private devpts instance for pseudo-terminals (gid=: the group of new terminals, 5 for tty as runc and Docker give it).",
      syntax: "mount devpts [DST] [gid=GID] [FLAGS]",
      example: "mount devpts",
      args: [{ name: "DST", kind: "path", optional: true, default: "/dev/pts" }],
      options: { gid: "int" },
      flags: FS_FLAGS,
    },
    mqueue: {
      summary: "The POSIX message queue filesystem (of the IPC namespace).",
      syntax: "mount mqueue [DST] [FLAGS]",
      example: "mount mqueue",
      args: [{ name: "DST", kind: "path", optional: true, default: "/dev/mqueue" }],
      flags: FS_FLAGS,
    },
    cgroup: {
      summary: "The container's own cgroups, as runc mounts an OCI config's cgroup mount: on cgroup v1 a tmpfs with each hierarchy's cgroup of PID 1 in it, on v2 alone that cgroup on DST; bound from the host's, or with `ns cgroup` new cgroup filesystems (rooted at the namespace's root). Before the first `run`.",
      syntax: "mount cgroup [DST] [FLAGS]",
      example: "mount cgroup /sys/fs/cgroup ro",
      args: [{ name: "DST", kind: "path", optional: true, default: "/sys/fs/cgroup" }],
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
});

export const volumeStatement = defineStatement({
  name: "volume",
  summary: "A Docker-style volume at DST: the host path SRC (starting with / or .), the named volume NAME (made on first use, reused), or an anonymous one; store volumes are kept after the container (`ctr volume ls|rm|prune`).",
  syntax: "volume SRC:DST|NAME:DST|DST [ro]",
  example: "volume /srv/data:/data",
  plan: planVolume,
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
    const v = parseVolume(a.text);
    if (v.kind === "host") checkHostPath(ctx, a, v.source, "volume source", false, "a volume's SRC starting with / or . is a host path: give one that exists, or a NAME for a named volume");
    if (v.kind === "named" && !VOLUME_NAME.test(v.source)) ctx.error(a.span, `\`${v.source}\` is not a volume name`, "a name is letters, digits and _ . - (a host path starts with / or .)");
  },
});

/** `readonly` and `mask`: one PATH inside the container, one op held until the mounts are made (runtime/plan.ts). */
// explain's lines are derived from protect.ts's calls (runtime/explain.ts; readonlyNotes, maskNotes).
function pathStatement(name: "readonly" | "mask", summary: string, example: string) {
  const plan: PlanFn = (cmd) => {
    const path = bound(cmd).args.PATH!.text;
    return [{ kind: name, path, side: "pid1" }];
  };
  return defineStatement({ name, summary, syntax: `${name} PATH`, example, plan, side: "pid1", requires: ["mnt"], affects: "the host's mounts", container: true, args: [{ name: "PATH", kind: "path" }] });
}

export const readonlyStatement = pathStatement(
  "readonly",
  "Make PATH (`/` for the whole root) read-only in the container, after the mounts made before the next command (runc's readonlyPaths; `/`: its readonlyRootfs). A PATH that does not exist then is skipped: nothing is mounted and the container starts, as under runc.",
  "readonly /",
);

export const maskStatement = pathStatement(
  "mask",
  "Hide PATH in the container: a file reads empty (the host's /dev/null bound on it), a directory is an empty read-only tmpfs (runc's maskedPaths); applied after the mounts made before the next command. A PATH that does not exist then (/proc/asound on a machine without sound) is skipped: nothing is mounted and the container starts, as under runc.",
  "mask /proc/kcore",
);
