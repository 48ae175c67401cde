// `process.oomScoreAdj` (config.md, "POSIX process"): set on the ctr process
// that starts the container's init (supervise.ts) or the exec'd command's
// stage (exec.ts). oom_score_adj is inherited at fork and kept at execve, and
// ctr's PID 1 gives its command the score it started with
// (runtime/features/cgroup/oomscore.ts), so the command runs with it.

import { writeFileSync } from "node:fs";
import { SysError } from "../../../native/error.ts";

/** This process's score: an error naming the field when the kernel refuses it (lowering needs CAP_SYS_RESOURCE). */
export function setOwnOomScore(value: number): void {
  try {
    writeFileSync("/proc/self/oom_score_adj", String(value));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SysError({
      message: `\`process.oomScoreAdj\` ${value} cannot be set: ${code === "EACCES" ? "lowering a score needs CAP_SYS_RESOURCE, which ctr lacks here" : (e as Error).message}`,
      ...(code ? { code } : {}),
    });
  }
}
