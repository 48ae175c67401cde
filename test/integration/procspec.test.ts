// A `run` through the exec stage (runtime/features/process/spec.ts: a fresh init process
// applies the spec, then becomes the command) behaves as one started by
// Bun.spawn: same output, statuses, signals and environment. Its cost per
// `run` is measured by bench/exec-stage.ts.

import { describe, expect } from "bun:test";
import { itest, onHost } from "./host-state.ts";

const SCRIPT = `ns uts, pid, mnt
hostname box
env FOO=bar
cwd /tmp
run sh -c 'echo "$FOO $(pwd) $(hostname) $0 $#"' a b
expect output == "bar /tmp box a 1"
run sh -c 'exit 3'
expect exit 3
run no-such-command-here
expect exit 127
run sh -c 'kill -TERM $$'
expect exit 143
run sh -c 'grep -E "^(SigBlk|SigIgn)" /proc/self/status'
expect output == "SigBlk:\\t0000000000000000\\nSigIgn:\\t0000000000000000"
echo done`;

describe("the exec stage", () => {
  itest("a run through it is the same as through Bun.spawn (argv, env, cwd, statuses, signals)", () =>
    onHost(async (h) => {
      const direct = await h.ctr(["-e", SCRIPT]);
      const staged = await h.ctr(["-e", SCRIPT], { env: { CTR_EXEC_STAGE: "always" } });
      expect(direct.stderr).toBe("");
      expect(direct.code).toBe(0);
      expect(staged).toEqual({ ...direct, pid: staged.pid });
    }),
  );
});

// `rlimit` and `no_new_privs` (steps 2 and 3 of the spec), seen from inside,
// for `run` (through the exec stage) and for `exec` (PID 1 itself).
describe("rlimit and no_new_privs", () => {
  itest("every run and the exec get the limits and no_new_privs; commands before them do not", () =>
    onHost(async (h) => {
      const script = `ns uts, pid, mnt
run sh -c 'grep NoNewPrivs /proc/self/status'
expect output == "NoNewPrivs:\\t0"
rlimit nofile 100:200
rlimit core 0
no_new_privs
run sh -c 'echo "$(ulimit -n) $(ulimit -Hn) $(ulimit -c)"'
expect output == "100 200 0"
run sh -c 'grep NoNewPrivs /proc/self/status'
expect output == "NoNewPrivs:\\t1"
rlimit nofile 64
exec sh -c 'echo "$(ulimit -n) $(ulimit -Hn) $(grep NoNewPrivs /proc/self/status)"'`;
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("NoNewPrivs:\t0\n100 200 0\nNoNewPrivs:\t1\n64 64 NoNewPrivs:\t1\n");
    }),
  );

  itest("a limit the kernel refuses stops the command with the syscall named", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns uts, pid, mnt\nrlimit nofile 100:99999999999\nrun true"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("setrlimit");
    }),
  );
});
