// `ctr exec -t`: a new pseudo-terminal in the container's devpts (issue 15,
// item 4; `docker exec -t`). The kernel's rules, and who does what:
//   - A devpts instance mounted with `newinstance` (ctr's `mount devpts`) has
//     its own ptmx, /dev/pts/ptmx: a terminal made there belongs to the
//     container, numbered in its own /dev/pts. So the enter stage opens it after
//     it has joined the container's mount namespace and root (enter.ts, step
//     4), unlocks it (TIOCSPTLCK) and asks its number (TIOCGPTN).
//   - A terminal is a process's controlling terminal when a session leader with
//     none opens it (or calls TIOCSCTTY): the command is spawned with setsid and
//     /dev/pts/N opened as its fd 0, 1 and 2 (native/proc.ts, spawnProcess's
//     `terminal`), so Ctrl-C, Ctrl-Z and SIGWINCH reach the command's
//     foreground process group from the terminal's line discipline. A command
//     started by the exec stage (`cap`, `seccomp`, `user`: it is spawned from
//     the host's root, where that path is the host's) gets the slave opened by
//     the enter stage inside the container as its 0, 1 and 2, and the stage,
//     a session leader by the same setsid, takes it with TIOCSCTTY before its
//     execve (runtime/init.ts, "tty").
//   - The window size is the master's (TIOCSWINSZ): set from the user's
//     terminal before the command starts, and again on every SIGWINCH.
//   - The master goes back to `ctr exec` over a socket (SCM_RIGHTS; an OCI
//     `exec` sends it to the caller's console socket instead, or relays it as
//     below: runtime/features/oci/exec.ts), which
//     relays between the user's terminal, put in raw mode so that every key
//     reaches the container's line discipline, and the master. Reading the
//     master fails with EIO once no process holds the terminal any more: that
//     is the end of the output.

import { readSync, writeSync } from "node:fs";
import { close, fcntl, F_GETFL, F_SETFL, ioctl, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDWR, open, TIOCGPTN, TIOCGWINSZ, TIOCSPTLCK, TIOCSWINSZ, SysError } from "../../../native/index.ts";

export interface WinSize {
  rows: number;
  cols: number;
}

/** The fd on which the enter stage sends the master to `ctr exec`. */
export const PTY_FD = 4;

/** Stage side: a new terminal in the container's devpts, its master and the slave's path inside. */
export function openPty(size: WinSize | null): { master: number; slave: string } {
  let master: number;
  try {
    master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  } catch (e) {
    throw new SysError({ code: (e as SysError).code, syscall: "open", args: ["/dev/pts/ptmx"], message: `exec -t: cannot open "/dev/pts/ptmx" in the container: ${(e as Error).message}`, hint: "the container needs a devpts of its own: `mount devpts` in its script", status: 125 });
  }
  ioctl(master, TIOCSPTLCK, new Uint8Array(4)); // unlockpt(3): 0 = unlocked
  const n = new Uint8Array(4);
  ioctl(master, TIOCGPTN, n);
  if (size) setWinSize(master, size);
  return { master, slave: `/dev/pts/${new DataView(n.buffer).getUint32(0, true)}` };
}

/** struct winsize: rows, cols, then two pixel counts, unsigned shorts. */
export function setWinSize(fd: number, size: WinSize): void {
  const ws = new Uint8Array(8);
  const v = new DataView(ws.buffer);
  v.setUint16(0, size.rows, true);
  v.setUint16(2, size.cols, true);
  ioctl(fd, TIOCSWINSZ, ws);
}

/** The window size of terminal `fd`, or null when it is none. */
export function winSize(fd: number): WinSize | null {
  const ws = new Uint8Array(8);
  try {
    ioctl(fd, TIOCGWINSZ, ws);
  } catch {
    return null;
  }
  const v = new DataView(ws.buffer);
  return { rows: v.getUint16(0, true), cols: v.getUint16(2, true) };
}

// Kernel termios (asm-generic/termbits.h): four flag words, c_line, then c_cc.
const TCGETS = 0x5401;
const TCSETS = 0x5402;
const CC = 17;
const [VTIME, VMIN] = [5, 6];

/**
 * cfmakeraw(3) on terminal `fd`: no echo, no line editing, no signals from
 * keys, no output processing (the container's terminal does all of it, or
 * every newline would come out as two carriage returns). Returns the settings
 * to put back, or null when `fd` is no terminal.
 */
function makeRaw(fd: number): Uint8Array | null {
  const saved = new Uint8Array(64);
  try {
    ioctl(fd, TCGETS, saved);
  } catch {
    return null;
  }
  const t = saved.slice();
  const v = new DataView(t.buffer);
  const and = (at: number, mask: number) => v.setUint32(at, v.getUint32(at, true) & ~mask, true);
  and(0, 0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
  and(4, 0o1); // OPOST
  and(12, 0o1 | 0o2 | 0o10 | 0o100 | 0o100000); // ISIG ICANON ECHO ECHONL IEXTEN
  and(8, 0o60 | 0o400); // CSIZE PARENB
  v.setUint32(8, v.getUint32(8, true) | 0o60, true); // CS8
  t[CC + VMIN] = 1;
  t[CC + VTIME] = 0;
  ioctl(fd, TCSETS, t);
  return saved;
}

/**
 * Host side: relay the master to our stdout until its end (EIO), our stdin to
 * it when `input`, with the user's terminal in raw mode meanwhile, and the
 * window size followed. Resolves once the output has ended, or `done` (the
 * stage is gone) and nothing is left to read; closes the master.
 */
export async function relay(master: number, input: boolean, done: Promise<unknown>): Promise<void> {
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  const stdin = process.stdin;
  const saved = input ? makeRaw(0) : null;
  const resize = () => {
    const size = winSize(1) ?? winSize(0);
    if (size) setWinSize(master, size);
  };
  process.on("SIGWINCH", resize);
  const onData = (chunk: Buffer) => {
    let data = chunk;
    while (data.length > 0) data = data.subarray(writeSync(master, data));
  };
  if (input) {
    stdin.on("data", onData);
    stdin.resume();
  }
  let ended = false;
  void done.then(() => {
    ended = true;
  });
  try {
    // The master is non-blocking: read what there is, else wait a little, so the
    // event loop keeps serving stdin and SIGWINCH (EIO, not EOF, is a master's end).
    const buf = Buffer.alloc(65536);
    let idle = 1;
    for (;;) {
      let n: number;
      try {
        n = readSync(master, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") break; // EIO: no process holds the terminal any more
        if (ended) break; // the stage is gone: what is left holds the terminal but is not ours to wait for
        await Bun.sleep(idle);
        idle = Math.min(idle * 2, 16);
        continue;
      }
      if (n <= 0) break;
      idle = 1;
      let out = buf.subarray(0, n);
      while (out.length > 0) out = out.subarray(writeSync(1, out));
    }
  } finally {
    process.off("SIGWINCH", resize);
    if (input) {
      stdin.off("data", onData);
      stdin.pause();
      if (saved) ioctl(0, TCSETS, saved);
    }
    close(master);
  }
}
