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
