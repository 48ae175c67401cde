/**
 * An interactive `exec /bin/sh` on a real terminal: ctr runs on a
 * pseudo-terminal (Bun's own `terminal` spawn option: nothing to install), the
 * test types into the container's shell and reads its answers, as a user would.
 */
import { describe, expect } from "bun:test";
import { CTR, example, Host, itest, onHost } from "./host-state.ts";

class Session {
  out = "";
  private proc: ReturnType<typeof Bun.spawn>;

  /** ctr ARGS on a new terminal; with `shell`, a /bin/sh -c SCRIPT that runs ctr. */
  constructor(h: Host, args: string[], shell = false) {
    // Host.spawn pipes; a terminal session is spawned here, but tracked by the host check all the same.
    this.proc = Bun.spawn({
      cmd: shell ? ["/bin/sh", "-c", ...args] : [CTR, ...args],
      env: { ...process.env, NO_COLOR: "1", TMPDIR: h.tmp, TERM: "xterm" },
      terminal: { cols: 120, rows: 30, data: (_t, d) => void (this.out += new TextDecoder().decode(d)) },
    });
    h.pids.push(this.proc.pid);
  }

  /** Wait until the output (after `from`) matches. */
  async expect(re: RegExp, from = 0, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; the terminal shows:\n${this.out}`);
      await Bun.sleep(20);
    }
  }

  /** Type a line; returns the output offset before it, to match its answer only. */
  type(line: string): number {
    const at = this.out.length;
    this.proc.terminal!.write(line + "\n");
    return at;
  }

  async exited(): Promise<number> {
    const code = await this.proc.exited;
    this.proc.terminal?.close();
    return code;
  }
}

describe("interactive shell on a terminal", () => {
  for (const name of ["14-run-it.ctr", "06-rootfs.ctr"]) {
    itest(`${name}: type echo $$ and hostname into the container's /bin/sh, then exit`, () =>
      onHost(async (h) => {
        const s = new Session(h, [example(name)]);
        await s.expect(/# $/m); // the root prompt of an interactive sh
        let at = s.type("echo pid=$$");
        expect((await s.expect(/pid=(\d+)\r?\n/, at))[1]).toBe("1");
        at = s.type("hostname");
        expect((await s.expect(/hostname\r?\n(\S+)\r?\n/, at))[1]).toBe("container");
        // the shell owns the terminal: it is in the foreground process group
        at = s.type("[ -t 0 ] && echo tty=yes");
        await s.expect(/tty=yes/, at);
        s.type("exit");
        expect(await s.exited()).toBe(0);
        expect(s.out).not.toMatch(/Cannot set tty process group|can't access tty|job control/i);
      }),
    );
  }

  itest("the shell's exit status is ctr's", () =>
    onHost(async (h) => {
      const s = new Session(h, [example("14-run-it.ctr")]);
      await s.expect(/# $/m);
      s.type("exit 7");
      expect(await s.exited()).toBe(7);
    }),
  );
});

// The container's shell takes the terminal's foreground (PID 1 makes itself the
// foreground process group). When the container ends, ctr gives the terminal
// back to its own process group (tcsetpgrp with SIGTTOU blocked, as a shell does
// after a foreground job), so a script that runs ctr and then reads from the
// terminal still can.
describe("after the container's shell exits", () => {
  itest("the terminal is given back to ctr's caller", async () => {
    const h = new Host();
    try {
      const s = new Session(h, [`${CTR} ${example("14-run-it.ctr")}; echo "status=$?"; read line; echo "read=$line"`], true);
      await s.expect(/# $/m);
      s.type("exit");
      await s.expect(/status=0/);
      s.type("hello");
      await s.expect(/read=hello/, 0, 3000);
      await s.exited();
    } finally {
      await h.cleanUp();
    }
  }, 20_000);
});
