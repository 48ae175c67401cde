// Out-of-memory kills: noticed from the cgroup's own counter, explained from
// the kernel's log.
//
// A process killed by the OOM killer just dies of SIGKILL: its exit status
// (137) looks exactly like `kill -9`. What tells them apart is the memory
// cgroup's counter of OOM kills (v1 memory.oom_control "oom_kill", v2
// memory.events "oom_kill"): ctr reads it after each command and reports only
// when it went up. Which process died is not in any cgroup file; the kernel
// logs it, one record per kill, which /dev/kmsg gives to root:
//   oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/a/ctr-x,task_memcg=/a/ctr-x,task=tail,pid=4242,uid=0
// When the log cannot be read, the message names the command that ended.

import { closeSync, constants, openSync, readSync } from "node:fs";
import { realFiles } from "../../../native/files.ts";
import type { Sys } from "../../../native/seam.ts";
import { formatBytes, isUnlimited, type MemoryUsage } from "./memory.ts";
import type { CgroupVersion } from "./types.ts";

export interface OomVictim {
  pid: number;
  task: string;
}

/** Every message in the kernel's log ring, oldest first; [] when it cannot be read. */
export function readKernelLog(): string[] {
  let fd: number;
  try {
    fd = openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  const out: string[] = [];
  const buf = Buffer.alloc(8192);
  try {
    for (let i = 0; i < 100_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE") continue; // records were overwritten while reading: go on
        break; // EAGAIN: the end
      }
      if (n <= 0) break;
      const rec = buf.toString("utf8", 0, n);
      const semi = rec.indexOf(";");
      out.push((semi >= 0 ? rec.slice(semi + 1) : rec).split("\n")[0]!);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The OOM kills the kernel logged for the cgroup named `name` (limited there). */
export function findOomVictims(name: string, log: readonly string[]): OomVictim[] {
  const out: OomVictim[] = [];
  for (const line of log) {
    if (!line.startsWith("oom-kill:")) continue;
    const fields = Object.fromEntries(
      line
        .slice("oom-kill:".length)
        .split(",")
        .map((kv) => {
          const eq = kv.indexOf("=");
          return [kv.slice(0, eq), kv.slice(eq + 1)];
        }),
    );
    const memcg: string = fields.oom_memcg ?? "";
    if (!(memcg.endsWith(`/${name}`) || memcg.includes(`/${name}/`))) continue;
    out.push({ pid: Number(fields.pid), task: fields.task ?? "?" });
  }
  return out;
}

/**
 * The plain message: which limit, which process.
 *   out of memory: the kernel killed tail (pid 4242 on the host) at the
 *   container's memory limit of 32 MiB (memory.limit_in_bytes); peak 32 MiB
 */
export function oomMessage(opts: { kills: number; victims: readonly OomVictim[]; usage: MemoryUsage | null; version: CgroupVersion; command: string | null; initPids?: readonly number[] }): string {
  const { kills, victims, usage, version, command } = opts;
  const init = new Set(opts.initPids ?? []);
  const file = version === "v1" ? "memory.limit_in_bytes" : "memory.max";
  const recent = victims.slice(-kills);
  const who =
    recent.length > 0
      ? recent.map((v) => (init.has(v.pid) ? `ctr's own init (${v.task}, pid ${v.pid} on the host)` : `${v.task} (pid ${v.pid} on the host)`)).join(", ")
      : command
        ? `a process of \`${command}\``
        : "a process of the container";
  const limit = usage && !isUnlimited(usage.limit) ? `the container's memory limit of ${formatBytes(usage.limit!)} (${file})` : "the container's memory limit";
  const peak = usage?.peak ? `; peak usage ${formatBytes(usage.peak)}` : "";
  const counter = version === "v1" ? "memory.oom_control oom_kill" : "memory.events oom_kill";
  const initHit = recent.some((v) => init.has(v.pid))
    ? "; the kernel chose ctr's init over the command, whose mapped executable counts in its score: give the container more memory (ctr shields its init fully only with CAP_SYS_RESOURCE)"
    : "";
  return `out of memory: the kernel killed ${who} at ${limit}${peak} (${counter} +${kills})${initHit}`;
}

// ---- keeping ctr's own init out of the OOM killer's way (see runtime/features/cgroup/oomscore.ts)

/** The calls the scores take: /proc/PID/oom_score_adj and /proc/self/status, through the seam (native/seam.ts). */
export type ScoreFiles = Pick<Sys, "readFile" | "writeFile">;

function readScore(files: ScoreFiles, pid: number | "self"): number {
  try {
    return Number(files.readFile(`/proc/${pid}/oom_score_adj`).trim()) || 0;
  } catch {
    return 0;
  }
}

function writeScore(files: ScoreFiles, pid: number, value: number): boolean {
  try {
    files.writeFile(`/proc/${pid}/oom_score_adj`, String(value));
    return true;
  } catch {
    return false; // the process is gone, or the change needs a capability ctr lacks
  }
}

/** CAP_SYS_RESOURCE (bit 24) in ctr's effective set: needed to lower a score below the process's minimum. */
export function canLowerOomScore(files: ScoreFiles = realFiles): boolean {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(files.readFile("/proc/self/status"))?.[1];
    return hex !== undefined && (BigInt(`0x${hex}`) & (1n << 24n)) !== 0n;
  } catch {
    return false;
  }
}

/** The scores of a container whose init should not be the OOM killer's choice. */
export interface OomScorePlan {
  /** Stage 1's score before it starts PID 1 (PID 1 and its commands start with it). */
  commands: number;
  /** The init stages' score once PID 1 is up. */
  init: number;
}

export function oomScorePlan(files: ScoreFiles = realFiles): OomScorePlan {
  const mine = readScore(files, "self");
  return canLowerOomScore(files) ? { commands: mine, init: -1000 } : { commands: Math.min(1000, mine + 1000), init: mine };
}

/** Before stage 1 starts PID 1. */
export function setCommandScore(plan: OomScorePlan, stage1: number, files: ScoreFiles = realFiles): void {
  if (plan.commands !== readScore(files, "self")) writeScore(files, stage1, plan.commands);
}

/** Once PID 1 is up (it has read its start score). */
export function setInitScore(plan: OomScorePlan, pids: readonly number[], files: ScoreFiles = realFiles): void {
  for (const pid of pids) if (pid > 0) writeScore(files, pid, plan.init);
}
