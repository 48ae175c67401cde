// Issue 16, Acceptance, as root: every hardening statement observed from
// inside a container with a new root, for a `run` (the exec stage started from
// the host's tree: runtime/features/process/stage.ts), for `exec` (PID 1
// itself) and for `ctr exec` (the record's spec, runtime/features/lifecycle/enter.ts).
// test/userns/sandbox.test.ts has the same as uid 65534.

import { describe, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { itest, onHost } from "./host-state.ts";
import { DENY_SETHOSTNAME, expectHardened, expectHostnameDenied, hardenedScript, HOSTNAME_PROBE, PROBE, probeDetached, seccompScript } from "./sandbox.ts";

let seq = 0;
const uniq = (what: string) => `it-sb-${what}-${process.pid}-${seq++}`;

describe("the process spec inside a new root: run, exec and ctr exec", () => {
  for (const user of [false, true]) {
    itest(`read-only root, a masked file, cap, no_new_privs, rlimit, seccomp default${user ? ", user nobody groups=100" : ""}`, () =>
      onHost(async (h) => {
        const out = await probeDetached((a) => h.ctr(a), uniq("hard"), hardenedScript("none", user), PROBE);
        expectHardened(out, user);
      }), 60_000);
  }

  itest("a profile that denies sethostname: `hostname x` fails with EPERM as root", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const file = join(dir, "deny.json");
      writeFileSync(file, DENY_SETHOSTNAME);
      const out = await probeDetached((a) => h.ctr(a), uniq("sec"), seccompScript("none", file), HOSTNAME_PROBE);
      expectHostnameDenied(out);
    }), 60_000);

  itest("a command run through the exec stage holds no descriptor of the host's and has the container's root", () =>
    onHost(async (h) => {
      // (not in a $(...): the shell holds the pipe of a command substitution while it runs)
      const r = await h.ctr(["-e", "ns pid, mnt\nrootfs default\nmount proc\nno_new_privs\nrun sh -c 'ls /proc/$$/fd; readlink /proc/$$/root /proc/$$/cwd'"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("0\n1\n2\n/\n/\n");
    }), 30_000);
});
