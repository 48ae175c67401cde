// An OCI process's `terminal` (config.md, "Console"; runc's --console-socket):
// the command gets a new pseudo-terminal of the container's devpts as its
// controlling terminal and its standard streams, and the caller (conmon,
// containerd's shim) gets the master over the console socket it named, with
// SCM_RIGHTS, to relay. The caller waits for the master during `create`, so it
// is sent then, at `enter-root`, not at `exec`.
//
// Who holds what: the supervisor connects to the console socket on the host
// before stage 1 starts (runtime/features/oci/supervise.ts) and hands the
// connected socket to stage 1 as its fd 4, which stage 2, PID 1, inherits
// (runtime/init.ts makes it close-on-exec there, so that no `run` gets it).
//   1. at `enter-root`, once inside the container's root, PID 1 opens
//      /dev/pts/ptmx (the container's devpts, `newinstance`) and unlocks it
//      (features/lifecycle/tty.ts, openPty), sets its window size to
//      `process.consoleSize` when the config gives one, sends the master on fd 4 with the
//      slave's name as the message (what runc sends), and closes both: the
//      caller is the master's only holder, and PID 1 keeps the slave's name;
//   2. at `exec`: setsid(2), so PID 1 leads a new session without a
//      controlling terminal, and opening the slave without O_NOCTTY makes it
//      that terminal; it is dup2'd onto 0, 1 and 2, which execve keeps.
// These are native calls, outside the seam: on a recording double (`ctr
// explain`) nothing is made.

import { close, dup2, O_RDWR, open, realSys, sendFds, setsid, SysError } from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";
import { openPty } from "../lifecycle/tty.ts";

/** The fd PID 1 has the console socket on. */
export const CONSOLE_FD = 4;

/** Step 1 (see the header); `size`: `process.consoleSize`, the window the terminal starts with (else the kernel's 0 by 0). */
export function makeConsole(st: AgentState, size?: { rows: number; cols: number }): void {
  if (st.sys !== realSys) return;
  const pty = openPty(size ?? null);
  try {
    sendFds(CONSOLE_FD, new TextEncoder().encode(pty.slave), [pty.master]);
  } finally {
    close(pty.master);
    close(CONSOLE_FD);
  }
  st.consoleSlave = pty.slave;
}

/** Step 2 (see the header). */
export function takeConsole(st: AgentState): void {
  if (st.sys !== realSys) return;
  if (st.consoleSlave === undefined) throw new SysError({ message: "exec: the process's terminal was not made (no console at enter-root)", status: 126 });
  setsid();
  const fd = open(st.consoleSlave, O_RDWR);
  for (const to of [0, 1, 2]) dup2(fd, to);
  if (fd > 2) close(fd);
}
