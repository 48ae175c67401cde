// The REPL on a real pseudo-terminal, typed into as a user would: prompts
// that show the container, Tab completion, Ctrl-C, Ctrl-D, history, `exec`.

import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { itest } from "../integration/host-state.ts";
import { cgroupLeftovers, onReplHost, TermRepl } from "./driver.ts";

/** Host PIDs of `sleep 100` processes below `ancestor` (the container's processes are the host's too). */
function sleepersBelow(ancestor: number): number[] {
  const parent = new Map<number, number>();
  const sleepers: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8") === "sleep\0" + "100\0") sleepers.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid), hops = 0; p && hops < 64; p = parent.get(p), hops++) if (p === ancestor) return true;
    return false;
  };
  return sleepers.filter(below);
}

describe("REPL on a terminal", () => {
  itest("Ctrl-C on a run that ignores SIGINT: ctr says what the next press sends; the second press stops its whole tree", () =>
    onReplHost(async (h) => {
      const t = new TermRepl(h);
      await t.prompt();
      let at = t.type("ns pid");
      await t.prompt(at);
      at = t.type(`run sh -c 'trap "" INT; sleep 100'`);
      await t.expect(/sleep 100'\r*\n/, at);
      await Bun.sleep(300);
      expect(sleepersBelow(t.proc.pid)).toHaveLength(1);
      at = t.keys("\x03");
      await t.expect(/the run is still going after SIGINT: press Ctrl-C again to send SIGTERM/, at, 3000);
      at = t.keys("\x03");
      await t.prompt(at, 3000);
      expect(t.out.slice(at)).toContain("killed by SIGTERM");
      // The grandchild, which ignored SIGINT as its shell did, got the SIGTERM too.
      const deadline = Date.now() + 2000;
      while (sleepersBelow(t.proc.pid).length > 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(sleepersBelow(t.proc.pid)).toEqual([]);
      t.keys("\x04");
      await t.exited();
    }),
    30_000,
  );

  itest("build a container step by step; Tab, Ctrl-C and Ctrl-D; nothing left behind", () =>
    onReplHost(async (h) => {
      const state = h.scratch();
      const t = new TermRepl(h, { XDG_STATE_HOME: state });
      await t.prompt();
      expect(t.out).toContain("ctr> ");

      // ns creates the container; the prompt shows it, with PID 1's host PID
      let at = t.type("ns uts, pid, mnt");
      const [, id, pid] = await t.prompt(at);
      expect(id).toMatch(/^[a-z0-9]+$/);
      expect(existsSync(`/proc/${pid}`)).toBe(true);

      at = t.type('hostname "lab"');
      expect((await t.prompt(at))[1]).toBe("lab");
      at = t.type("run hostname");
      await t.expect(/\r\nlab\r\n/, at);
      await t.prompt(at);

      // a misspelt statement: a diagnostic, a suggestion; the session goes on
      at = t.type('hostnme "x"');
      await t.expect(/error: unknown statement `hostnme`[\s\S]*\^\^\^\^\^\^\^[\s\S]*did you mean `hostname`\?/, at);
      await t.prompt(at);

      // Tab completes the form word from the registry
      at = t.keys("mount pr\t");
      await t.expect(/mount proc $/, at);
      t.keys("\r");
      await t.expect(/fsopen\("proc", FSOPEN_CLOEXEC\)/, at);
      await t.prompt(at);

      // a live cgroup limit
      at = t.type("limit pids 64");
      await t.expect(/pids\.max = 64/, at);
      await t.prompt(at);

      // A `run` reads the terminal like any foreground program, and Ctrl-\ stops
      // it, not the container
      at = t.type("run sh -c 'read x; echo got:$x'");
      await Bun.sleep(300);
      t.keys("typed-into-run\r");
      await t.expect(/got:typed-into-run/, at);
      await t.prompt(at);
      at = t.type("run sleep 100");
      await t.expect(/run sleep 100\r*\n/, at);
      await Bun.sleep(300);
      t.keys("\x1c");
      await t.prompt(at, 1000);
      expect(t.out.slice(at)).toContain("SIGQUIT");

      // Ctrl-C stops the run, not the REPL, and the prompt is back within a second
      at = t.type("run sleep 100");
      await t.expect(/run sleep 100\r*\n/, at);
      await Bun.sleep(300);
      const t0 = Date.now();
      at = t.keys("\x03");
      await t.prompt(at, 1000);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(t.out.slice(at)).toContain("killed by SIGINT");

      // Ctrl-C at the prompt drops what was typed, like a shell
      at = t.keys("hostname half-typed\x03");
      await t.prompt(at);
      at = t.type("run hostname");
      await t.expect(/\r\nlab\r\n/, at);
      await t.prompt(at);

      // :save keeps what took effect: not the misspelt line, not the abandoned run
      const file = join(state, "lab.ctr");
      at = t.type(`:save ${file}`);
      await t.prompt(at);
      const saved = readFileSync(file, "utf8");
      for (const line of ["ns uts, pid, mnt\n", 'hostname "lab"\n', "mount proc\n", "limit pids 64\n", "run hostname\n"]) expect(saved).toContain(line);
      for (const gone of ["hostnme", "sleep", "half-typed", "expect exit"]) expect(saved).not.toContain(gone);

      // Ctrl-D: everything torn down (onHost checks mounts, processes, /run/ctr)
      t.keys("\x04");
      expect(await t.exited()).toBe(130); // the last failure: the interrupted run
      expect(cgroupLeftovers([t.proc.pid])).toEqual([]);

      // the history was kept for the next session
      const history = readFileSync(join(state, "ctr", "history"), "utf8");
      expect(history).toContain('hostname "lab"\n');
      expect(history).not.toContain("half-typed");
    }),
    60_000,
  );

  itest("the history comes back in the next session (Up recalls the last line)", () =>
    onReplHost(async (h) => {
      const state = h.scratch();
      const first = new TermRepl(h, { XDG_STATE_HOME: state });
      await first.prompt();
      first.type("echo remembered");
      await first.expect(/\r\nremembered\r\n/);
      first.keys("\x04");
      expect(await first.exited()).toBe(0);

      const second = new TermRepl(h, { XDG_STATE_HOME: state });
      await second.prompt();
      const at = second.keys("\x1b[A");
      await second.expect(/echo remembered/, at);
      second.keys("\r");
      await second.expect(/\r\nremembered\r\n/, at);
      second.type(":quit");
      expect(await second.exited()).toBe(0);
    }),
  );

  itest("exec hands the terminal to the command; its status is ctr's", () =>
    onReplHost(async (h) => {
      const t = new TermRepl(h, { XDG_STATE_HOME: h.scratch() });
      await t.prompt();
      for (const line of ["ns uts, pid, mnt", 'hostname "box"', "rootfs default", "mount proc"]) {
        const at = t.type(line);
        await t.prompt(at, 30_000);
      }
      let at = t.type("exec /bin/sh");
      await t.expect(/# $/, at);
      at = t.type("echo pid=$$; [ -t 0 ] && echo tty=yes; hostname");
      await t.expect(/pid=1\r\ntty=yes\r\nbox\r\n/, at);
      t.type("exit 3");
      expect(await t.exited()).toBe(3);
    }),
    60_000,
  );

  itest("PID 1 killed from outside while the prompt waits: said above the prompt, which keeps the typed text", () =>
    onReplHost(async (h) => {
      const t = new TermRepl(h, { XDG_STATE_HOME: h.scratch() });
      await t.prompt();
      let at = t.type("ns pid");
      const [, , pid] = await t.prompt(at);
      at = t.keys("echo hal");
      await t.expect(/echo hal$/, at);
      process.kill(Number(pid), "SIGKILL");
      await t.expect(/the container ended: PID 1 exited \(status 137\)[\s\S]*ctr> echo hal(?:\x1b\[\d+G)?$/, at);
      at = t.keys("f\r");
      await t.expect(/\r\nhalf\r\n/, at);
      t.keys("\x04");
      expect(await t.exited()).toBe(0);
    }),
  );

  itest("a block spans lines with a continuation prompt; :reset starts over", () =>
    onReplHost(async (h) => {
      const t = new TermRepl(h, { XDG_STATE_HOME: h.scratch() });
      await t.prompt();
      let at = t.type("ns uts");
      await t.prompt(at);
      at = t.type("fn greet(who) {");
      await t.expect(/\.\.\.> (?:\x1b\[\d+G)?$/, at);
      at = t.type("  run echo hello ${who}");
      await t.expect(/\.\.\.> (?:\x1b\[\d+G)?$/, at);
      at = t.type("}");
      await t.prompt(at);
      at = t.type("greet world");
      await t.expect(/hello world/, at);
      at = t.type(":reset");
      await t.expect(/ctr> (?:\x1b\[\d+G)?$/, at);
      at = t.type("greet again");
      await t.expect(/unknown statement `greet`/, at);
      t.keys("\x04");
      expect(await t.exited()).toBe(2);
    }),
  );
});
