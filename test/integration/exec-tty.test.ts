// `ctr exec -t` on the real kernel, driven through a pseudo-terminal as a user
// would type (Bun's `terminal` spawn, as the REPL's terminal tests do): the
// command gets a new terminal in the container's devpts (not the host's) as its
// controlling terminal, as a session leader; the window size follows ours, also
// after a resize; Ctrl-C reaches the command, not ctr; the exit status is
// relayed; our terminal's settings are put back; the same into a container with
// `cap drop` (the command started by the exec stage). Without a devpts in the
// container: a clear error, exit 125.

import { describe, expect } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { CTR, itest, onHost, REPO, type Host } from "./host-state.ts";
import { sameProcess } from "../../runtime/features/lifecycle/procstat.ts";

let seq = 0;
const uniq = (what: string) => `it-${what}-${process.pid}-${seq++}`;

/** A container with its own devpts, and the host's binaries (no rootfs: stty and tty are there). */
const TARGET = "ns uts, pid, mnt, ipc\nhostname tty-box\nmount proc\nmount devpts\nexec sleep 1000";

class Term {
  out = "";
  readonly proc;
  constructor(h: Host, cmd: string[]) {
    this.proc = Bun.spawn({
      cmd,
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", TMPDIR: h.tmp, TERM: "xterm" },
      terminal: { cols: 100, rows: 30, data: (_t, d) => void (this.out += new TextDecoder().decode(d)) },
    });
    h.pids.push(this.proc.pid);
  }
  type(text: string): number {
    const at = this.out.length;
    this.proc.terminal!.write(text);
    return at;
  }
  async expect(re: RegExp, from = 0, ms = 15_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} on the terminal; it shows:\n${this.out}`);
      await Bun.sleep(20);
    }
  }
}

/** Host PIDs of the processes of PID namespace `pidns` whose command line is `argv`. */
function pidsOf(pidns: string, argv: string[]): number[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/pid`) === pidns && readFileSync(`/proc/${p}/cmdline`, "utf8") === argv.map((a) => a + "\0").join("");
    } catch {
      return false;
    }
  });
}

describe("ctr exec -t", () => {
  itest("a terminal of the container's devpts as the command's controlling terminal; size, resize, Ctrl-C, status, our settings back", () =>
    onHost(async (h) => {
      const name = uniq("tty");
      expect((await h.ctr(["-d", "--name", name, "-e", TARGET])).code).toBe(0);
      const s = JSON.parse((await h.ctr(["inspect", name])).stdout) as { pid1: { pid: number; start: number } };
      const pidns = readlinkSync(`/proc/${s.pid1.pid}/ns/pid`);
      // An outer shell on our terminal: its settings before and after ctr exec -it.
      const t = new Term(h, ["sh", "-c", `stty -g > ${h.tmp}/before; ${CTR} exec -it ${name} sh; echo "@@rc=$?"; stty -g | cmp -s - ${h.tmp}/before && echo @@same; rm -f ${h.tmp}/before`]);
      let at = t.type(`echo "@@tty=$(tty) @@size=$(stty size) @@sid=$(cut -d' ' -f6 /proc/$$/stat) @@self=$$ @@host=$(hostname)"\r`);
      const m = await t.expect(/@@tty=(\S+) @@size=(\d+ \d+) @@sid=(\d+) @@self=(\d+) @@host=(\S+)/, at);
      expect(m[1]).toMatch(/^\/dev\/pts\/\d+$/);
      expect(m[2]).toBe("30 100");
      expect(m[3]).toBe(m[4]); // the shell leads its own session...
      expect(m[5]).toBe("tty-box");
      // ...and its terminal is of the container's devpts instance, not the host's
      const sh = pidsOf(pidns, ["sh"]).find((p) => readFileSync(`/proc/${p}/status`, "utf8").match(/^NSpid:.*\s(\d+)$/m)?.[1] === m[4]);
      expect(sh).toBeDefined();
      expect(statSync(`/proc/${sh}/fd/0`).dev).not.toBe(statSync("/dev/pts/ptmx").dev);
      expect(readFileSync(`/proc/${sh}/stat`, "utf8").split(") ")[1]!.split(" ")[4]).not.toBe("0"); // tty_nr: a controlling terminal
      // the window size follows ours
      t.proc.terminal!.resize(120, 40);
      await Bun.sleep(200);
      at = t.type('echo "@@size=$(stty size)"\r');
      expect((await t.expect(/@@size=(\d+ \d+)/, at))[1]).toBe("40 120");
      // Ctrl-C: the command's, through the container's terminal; the shell and ctr stay
      at = t.type("sleep 100\r");
      await Bun.sleep(300);
      expect(pidsOf(pidns, ["sleep", "100"])).toHaveLength(1);
      t.type("\x03");
      await Bun.sleep(300);
      expect(pidsOf(pidns, ["sleep", "100"])).toHaveLength(0);
      at = t.type("exit 5\r");
      await t.expect(/@@rc=5/, at);
      await t.expect(/@@same/, at);
      expect(await t.proc.exited).toBe(0);
      t.proc.terminal!.close();
      expect(sameProcess(s.pid1)).toBe(true); // the container runs on
      // A container with `cap drop`: the command goes through the exec stage (started from the host's root),
      // which takes the slave opened in the container as its 0-2 and controlling terminal.
      const capped = uniq("cap");
      expect((await h.ctr(["-d", "--name", capped, "-e", `${TARGET.replace("exec sleep 1000", "cap drop all\nexec sleep 1000")}`])).code).toBe(0);
      const u = new Term(h, ["sh", "-c", `${CTR} exec -it ${capped} sh; echo "@@rc=$?"`]);
      at = u.type(`echo "@@tty=$(tty) @@size=$(stty size) @@sid=$(cut -d' ' -f6 /proc/$$/stat) @@self=$$ @@nr=$(cut -d' ' -f7 /proc/$$/stat) $(grep CapEff /proc/$$/status)"\r`);
      const k = await u.expect(/@@tty=(\S+) @@size=(\d+ \d+) @@sid=(\d+) @@self=(\d+) @@nr=(\d+) CapEff:\s+(\w+)/, at);
      expect(k[1]).toMatch(/^\/dev\/pts\/\d+$/);
      expect(k[2]).toBe("30 100");
      expect(k[3]).toBe(k[4]);
      expect(k[5]).not.toBe("0"); // a controlling terminal
      expect(k[6]).toBe("0000000000000000");
      // Ctrl-C ends the sleep (else `exit 7` would wait 100 s for it): the terminal's signals reach the command.
      at = u.type("sleep 100\r");
      await Bun.sleep(300);
      u.type("\x03");
      at = u.type("exit 7\r");
      await u.expect(/@@rc=7/, at);
      expect(await u.proc.exited).toBe(0);
      u.proc.terminal!.close();
      // no devpts of its own: said, exit 125
      const bare = uniq("nopts");
      expect((await h.ctr(["-d", "--name", bare, "-e", "ns uts, pid, mnt\nrootfs default\nmount proc\nexec sleep 1000"])).code).toBe(0);
      const r = await h.ctr(["exec", "-t", bare, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('exec -t: cannot open "/dev/pts/ptmx" in the container');
      expect((await h.ctr(["rm", "-f", name, bare, capped])).code).toBe(0);
    }),
    60_000,
  );
});
