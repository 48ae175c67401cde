// The REPL with no terminal: statements on stdin, one per line (or a block),
// results on stdout, diagnostics on stderr. Real containers: needs root.

import { describe, expect } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { itest } from "../integration/host-state.ts";
import { cgroupLeftovers, onReplHost, PipeRepl, pipeRun } from "./driver.ts";

/** `show mounts` output with the per-container names taken out. */
function mounts(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => /^\/\S*\s+\S+\s+\S+\s+\S+$/.test(l))
    .map((l) => l.replace(/ctr-[a-z0-9]+-\d+/g, "ID"));
}

describe("REPL through a pipe", () => {
  itest("ns, hostname, run hostname prints the name; a misspelt statement is a diagnostic and the next one works", () =>
    onReplHost(async (h) => {
      const r = await pipeRun(h, 'ns uts, pid, mnt\nhostname "lab"\nrun hostname\nhostnme "x"\nrun hostname\n', []);
      expect(r.out.split("\n").filter((l) => l === "lab")).toHaveLength(2);
      // the result of each statement: what was done
      expect(r.out).toContain("unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID)");
      expect(r.out).toContain('sethostname("lab")');
      // the diagnostic: where, what, the caret under the line just typed, a suggestion
      expect(r.err).toContain("<repl:4>:1:1: error: unknown statement `hostnme`");
      expect(r.err).toContain('  1 | hostnme "x"\n    | ^^^^^^^');
      expect(r.err).toContain("help: did you mean `hostname`?");
      expect(r.err).not.toMatch(/\x1b\[/); // no colours without a terminal
      expect(r.code).toBe(2); // the last failure: a diagnostic
    }),
  );

  itest("exit status 0 when nothing failed; a failed run's status otherwise", () =>
    onReplHost(async (h) => {
      expect((await pipeRun(h, "ns uts\nrun true\n")).code).toBe(0);
      const r = await pipeRun(h, 'ns uts\nrun sh -c "exit 3"\nrun true\n');
      expect(r.code).toBe(3);
      expect(r.err).toContain("exit status 3");
    }),
  );

  itest(":save writes a script that `ctr FILE` replays into the same container", () =>
    onReplHost(async (h) => {
      const file = join(h.scratch(), "session.ctr");
      const repl = await pipeRun(
        h,
        [
          "ns uts, pid, mnt",
          'let name = "lab"',
          "hostname ${name}",
          "hostname nope; mount bogus /x", // a diagnostic: none of it takes effect
          "rootfs /nonexistent", // a diagnostic (the checker looks at the host): no effect
          "rootfs default",
          "mount proc",
          "fn tmp(dir) { mount tmpfs ${dir} size=1m }",
          "tmp /tmp",
          'run sh -c "echo hello > /tmp/greeting; exit 1"', // kept, followed by `expect exit 1`
          `:save ${file}`,
          "show mounts",
          "run hostname",
          "run cat /tmp/greeting",
        ].join("\n") + "\n",
      );
      expect(repl.err).toContain("unknown `mount` form `bogus`");
      const saved = readFileSync(file, "utf8");
      expect(saved).toContain("let name");
      expect(saved).toContain("expect exit 1");
      expect(saved).not.toContain("nonexistent");
      expect(saved).not.toContain("nope");
      writeFileSync(file, saved + "show mounts\nrun hostname\nrun cat /tmp/greeting\n");
      const script = await h.ctr([file]);
      expect(script.stderr).toBe("");
      expect(script.code).toBe(0);
      const tail = (s: string) => s.split("\n").slice(-3).join("\n");
      expect(tail(script.stdout)).toBe("lab\nhello\n");
      expect(tail(repl.out)).toBe("lab\nhello\n");
      expect(mounts(script.stdout)).toEqual(mounts(repl.out));
      expect(mounts(repl.out).some((l) => /^\/tmp\s+tmpfs/.test(l))).toBe(true);
      expect(mounts(repl.out).some((l) => /^\/proc\s+proc/.test(l))).toBe(true);
    }),
    60_000,
  );

  itest("a failed statement leaves the container and the session as they were", () =>
    onReplHost(async (h) => {
      const r = await pipeRun(
        h,
        [
          "ns uts, mnt",
          "rootfs /nonexistent", // the checker allows one rootfs: the refused one must not count
          "rootfs default",
          "show mounts",
          "ns pid", // the container exists: refused, named
          "hostname a; run false; hostname b", // stops at the failed run, like a script
          "run hostname",
        ].join("\n") + "\n",
      );
      expect(r.err).toContain('rootfs "/nonexistent" does not exist');
      expect(r.err).not.toContain("<repl:3>"); // the second rootfs is not refused
      expect(r.out).toMatch(/^\/\s+overlay\s/m); // and took effect
      expect(r.code).toBe(1);
      expect(r.err).toContain("cannot be added to it");
      expect(r.err).toContain("note: 2 statements of this input took effect before it stopped: `hostname a`, `run false`");
      expect(r.out.trim().split("\n").at(-1)).toBe("a");
    }),
  );

  itest("a user namespace gets its maps when it is made: in the same input, not later", () =>
    onReplHost(async (h) => {
      const r = await pipeRun(h, "ns user, uts; map uid 0 0 1; map gid 0 0 1\nrun id -u\nmap gid 0 0 1\nrun id -g\n");
      expect(r.out).toBe("0\n0\n");
      expect(r.err).toContain("<repl:3>:1:1: error: the id maps of a user namespace are written once");
    }),
  );

  itest("exec: the command gets the rest of the input and ends the session with its status", () =>
    onReplHost(async (h) => {
      const r = await pipeRun(h, "ns pid, mnt\nmount proc\nexec /bin/sh\necho inside $$\nexit 4\n");
      expect(r.out).toBe("inside 1\n");
      expect(r.code).toBe(4);
    }),
  );

  itest(":load, :history, :explain, :help, :show and blocks across lines", () =>
    onReplHost(async (h) => {
      const lib = join(h.scratch(), "lib.ctr");
      writeFileSync(lib, "fn box(name) {\n  hostname ${name}\n}\nlet greeting = 'hi'\n");
      const r = await pipeRun(
        h,
        [
          "ns uts, pid, mnt",
          `:load ${lib}`,
          "box loaded",
          "fn twice(x) {",
          "  run echo ${x}",
          "  run echo ${x}",
          "}",
          "twice ${greeting}",
          ":explain hostname other",
          "run hostname",
          ":help hostname",
          ":show procs",
          "run echo \\",
          "  continued",
          ":history",
        ].join("\n") + "\n",
      );
      expect(r.err).toBe("");
      expect(r.out).toContain("hi\nhi\n");
      expect(r.out).toContain('sethostname("other")'); // explained...
      expect(r.out).toContain("loaded\n"); // ...not done
      expect(r.out).toContain("syntax:   hostname NAME");
      expect(r.out).toMatch(/PID\s+PPID\s+HOST PID/);
      expect(r.out).toContain("continued\n");
      expect(r.out).toMatch(/ {3}2 {4}:load /);
      expect(r.out).toMatch(/ {3}4 {4}fn twice\(x\) \{\n {8} {2}run echo/);
      expect(r.code).toBe(0);
    }),
  );

  itest("limit changes a live container's cgroup; nothing is left after", () =>
    onReplHost(async (h) => {
      const r = new PipeRepl(h, ["-q"]);
      r.send("ns uts, pid, mnt\nlimit pids 8\nshow cgroup");
      await r.expectOut(/pids\s+limit\s+8/);
      const at = r.send('run sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait"');
      await r.expectErr(/exit status|[Cc]annot fork|Resource temporarily unavailable/, at.err);
      r.send("limit pids 100\nrun sh -c 'sleep 0.1 & sleep 0.1 & wait; echo forked'");
      await r.expectOut(/forked/);
      expect(cgroupLeftovers([r.proc.pid]).length).toBeGreaterThan(0);
      await r.close();
      expect(cgroupLeftovers([r.proc.pid])).toEqual([]);
    }),
  );

  itest("SIGINT stops the run in progress, not the session", () =>
    onReplHost(async (h) => {
      const r = new PipeRepl(h, ["-q"]);
      r.send("ns pid\nrun echo started\nrun sleep 100");
      await r.expectOut(/started/);
      await Bun.sleep(200);
      const t0 = Date.now();
      r.proc.kill("SIGINT");
      await r.expectErr(/killed by SIGINT/);
      expect(Date.now() - t0).toBeLessThan(1000);
      r.send("run echo after");
      await r.expectOut(/after/);
      expect(await r.close()).toBe(130);
    }),
  );

  itest("a container whose PID 1 dies is noticed; the session starts over", () =>
    onReplHost(async (h) => {
      const r = await pipeRun(h, "ns pid\nrun sh -c 'kill 1; sleep 5'\nns uts\nrun echo again\n");
      expect(r.err).toContain("a new session starts");
      expect(r.out).toContain("again\n");
    }),
  );

  itest("SIGTERM between statements tears everything down", () =>
    onReplHost(async (h) => {
      const r = new PipeRepl(h, ["-q"]);
      r.send("ns uts, pid, mnt\nrootfs default\nrun echo up");
      await r.expectOut(/up/);
      expect(existsSync("/run/ctr")).toBe(true);
      r.proc.kill("SIGTERM");
      expect(await r.proc.exited).toBe(143);
    }),
  );
});
