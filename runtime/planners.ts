// Per-statement plan functions, keyed by statement name (merged into the registry).

import type { Command } from "../lang/spec.ts";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from "../native/constants.ts";
import { parseDuration } from "../lang/values.ts";
import { mountCall, mountOp, options, quote, words, type PlanFn, type PlannedOp } from "./plan.ts";
import { INIT_FILES } from "./ops.ts";
import { planLimit, planShowCgroup } from "./cgroup/plan.ts";

const FLAG_BITS: Record<string, number> = { nosuid: MS_NOSUID, nodev: MS_NODEV, noexec: MS_NOEXEC };

function flagsOf(ws: string[], base: number): { flags: number; ro: boolean } {
  let flags = base;
  let ro = false;
  for (const w of ws) {
    if (w in FLAG_BITS) flags |= FLAG_BITS[w]!;
    if (w === "ro") ro = true;
  }
  return { flags, ro };
}

const FS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// Mount forms: [fstype, default target, base flags, data]
const SIMPLE_FS: Record<string, [string, string, number, string | null]> = {
  proc: ["proc", "/proc", FS_FLAGS, null],
  sysfs: ["sysfs", "/sys", FS_FLAGS, null],
  mqueue: ["mqueue", "/dev/mqueue", FS_FLAGS, null],
  devpts: ["devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"],
};

function isFlag(w: string): boolean {
  return w === "ro" || w === "rw" || w === "rec" || w in FLAG_BITS;
}

const planMount: PlanFn = (cmd) => {
  const ws = words(cmd);
  const form = ws[0]!;
  const rest = ws.slice(1);
  const positional = rest.filter((w) => !isFlag(w));
  const opts = options(cmd);
  const simple = SIMPLE_FS[form];
  if (simple) {
    const [fstype, def, base, data] = simple;
    const { flags, ro } = flagsOf(rest, base);
    // Kernel filesystems take MS_RDONLY directly; no remount needed.
    return [mountOp(form, { source: fstype, target: positional[0] ?? def, fstype, flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
  }
  switch (form) {
    case "tmpfs": {
      const { flags, ro } = flagsOf(rest, MS_NOSUID | MS_NODEV);
      const data = ["size", "mode"].filter((k) => opts[k]).map((k) => `${k}=${opts[k]!.text}`).join(",") || null;
      return [mountOp(form, { source: "tmpfs", target: positional[0]!, fstype: "tmpfs", flags: flags | (ro ? MS_RDONLY : 0), data }, false)];
    }
    case "bind": {
      const { flags, ro } = flagsOf(rest, MS_BIND | MS_REC);
      return [mountOp(form, { source: positional[0]!, target: positional[1]!, fstype: null, flags, data: null }, ro)];
    }
    case "overlay": {
      const { flags, ro } = flagsOf(rest, 0);
      const data = [`lowerdir=${opts.lower?.text ?? ""}`];
      if (opts.upper) data.push(`upperdir=${opts.upper.text}`, `workdir=${opts.work?.text ?? ""}`);
      return [mountOp(form, { source: "overlay", target: positional[0]!, fstype: "overlay", flags: flags | (ro ? MS_RDONLY : 0), data: data.join(",") }, false)];
    }
    case "dev": {
      const target = positional[0] ?? "/dev";
      const { ro } = flagsOf(rest, 0);
      const explain = [
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
    const dir = words(cmd)[0]!;
    const initFiles = { dir: ctx.stateDir };
    if (dir === "default") {
      const overlay = { lower: ctx.defaultRootfs, scratch: `${ctx.stateDir}/scratch`, merged: `${ctx.stateDir}/root` };
      const explain = [
        `# the embedded default rootfs (built on first use into ${ctx.defaultRootfs}), writable through an overlay`,
        mountCall({ source: "tmpfs", target: overlay.scratch, fstype: "tmpfs", flags: 0, data: "mode=755" }),
        mountCall({ source: "overlay", target: overlay.merged, fstype: "overlay", flags: 0, data: `lowerdir=${overlay.lower},upperdir=${overlay.scratch}/upper,workdir=${overlay.scratch}/work` }),
        ...INIT_FILES.map((f) => mountCall({ source: `${ctx.stateDir}/${f}`, target: `${overlay.merged}/etc/${f}`, fstype: null, flags: MS_BIND, data: null })),
      ];
      return [{ kind: "rootfs", dir, mode, overlay, initFiles, side: "pid1", explain }];
    }
    const explain = [
      mountCall({ source: dir, target: dir, fstype: null, flags: MS_BIND | MS_REC, data: null }) + "  # pivot_root needs a mount point",
      ...INIT_FILES.map((f) => mountCall({ source: `${ctx.stateDir}/${f}`, target: `${dir}/etc/${f}`, fstype: null, flags: MS_BIND, data: null }) + "  # if the rootfs has it"),
    ];
    return [{ kind: "rootfs", dir, mode, overlay: null, initFiles, side: "pid1", explain }];
  };
}

function argv(cmd: Command): string[] {
  return cmd.args.map((a) => a.text);
}

function expectPlan(cmd: Command): PlannedOp[] {
  const ws = cmd.args.map((a) => a.text);
  const subject = ws[0] as "exit" | "output";
  const [test, value] = subject === "exit" && ws.length === 2 ? ["==", ws[1]!] : [ws[1]!, ws[2]!];
  return [{ kind: "expect", subject, test: test as "==", value, side: "front", explain: [`check the last run: ${subject} ${test} ${JSON.stringify(value)}`] }];
}

export const PLANNERS: Record<string, PlanFn> = {
  ns: () => [{ kind: "unshare", namespaces: [], side: "creator", explain: [] }],
  hostname: (cmd) => {
    const name = words(cmd)[0]!;
    return [{ kind: "hostname", name, side: "pid1", explain: [`sethostname(${quote(name)})`] }];
  },
  domainname: (cmd) => {
    const name = words(cmd)[0]!;
    return [{ kind: "domainname", name, side: "pid1", explain: [`setdomainname(${quote(name)})`] }];
  },
  mount: planMount,
  rootfs: rootfsPlan("pivot"),
  chroot: rootfsPlan("chroot"),
  env: (cmd) => {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(options(cmd))) vars[k] = v.text;
    return [{ kind: "env", vars, side: "pid1", explain: Object.entries(vars).map(([k, v]) => `environment of later commands: ${k}=${JSON.stringify(v)}`) }];
  },
  cwd: (cmd) => {
    const dir = words(cmd)[0]!;
    return [{ kind: "cwd", dir, side: "pid1", explain: [`working directory of later commands: ${quote(dir)} (chdir before execve)`] }];
  },
  run: (cmd) => [{ kind: "run", argv: argv(cmd), capture: false, side: "pid1", explain: [`spawn ${JSON.stringify(argv(cmd))} inside and wait for it`] }],
  exec: (cmd) => [{ kind: "exec", argv: argv(cmd), side: "pid1", explain: [`execve(${quote(argv(cmd)[0]!)}, ${JSON.stringify(argv(cmd))})  # the command replaces PID 1`] }],
  limit: planLimit,
  map: (cmd) => {
    const [which, inside, outside, count] = words(cmd) as ["uid" | "gid", string, string, string];
    const line = { inside: Number(inside), outside: Number(outside), count: Number(count) };
    return [{ kind: "idmap", which, line, side: "host", explain: [`write /proc/STAGE1/${which}_map = "${inside} ${outside} ${count}"  # before stage 1 goes on`] }];
  },
  show: (cmd, ctx) => {
    if (words(cmd)[0] === "cgroup") return planShowCgroup(cmd, ctx);
    const what = words(cmd)[0] as "ns" | "mounts" | "procs" | "ids";
    const src = {
      ns: "/proc/PID1/ns/* next to /proc/self/ns/*",
      mounts: "/proc/PID1/mountinfo",
      procs: "/proc/*/ns/pid and /proc/*/status (NSpid)",
      ids: "/proc/PID1/status (Uid, Gid, Cap*), /proc/PID1/uid_map and gid_map",
    }[what];
    return [{ kind: "show", what, side: "host", explain: [`read ${src}`] }];
  },
  echo: (cmd) => [{ kind: "echo", text: argv(cmd).join(" "), side: "front", explain: ["print"] }],
  sleep: (cmd) => {
    const ms = parseDuration(words(cmd)[0]!) ?? 0; // checked: a valid duration
    return [{ kind: "sleep", ms, side: "front", explain: [`sleep ${ms} ms`] }];
  },
  expect: expectPlan,
};

export const UNSUPPORTED: Record<string, string> = {
  volume: "volumes come with the volumes chapter",
  net: "networking comes with the network chapter",
  join: "joining a running container comes with the exec chapter",
  user: "switching user comes with process setup",
  cap: "capabilities come with process setup",
  seccomp: "seccomp comes with process setup",
  rlimit: "resource limits come with process setup",
  readonly: "read-only paths come with process setup",
};
