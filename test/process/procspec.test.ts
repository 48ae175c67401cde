// The process spec (runtime/features/process/spec.ts), without root: what processSpec()
// resolves and refuses, as execvp and a shell would.

import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PATH, needsExecStage, processSpec } from "../../runtime/features/process/spec.ts";
import { SysError } from "../../native/error.ts";

function thrown(fn: () => unknown): SysError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("processSpec", () => {
  test("resolves the command through the container's PATH and copies argv, environment and cwd", () => {
    const st = { cwd: "/", env: { PATH: DEFAULT_PATH, FOO: "bar" } };
    const spec = processSpec(st, ["sh", "-c", "true"]);
    expect(spec.path).toMatch(/\/sh$/);
    expect(spec.argv).toEqual(["sh", "-c", "true"]);
    expect(spec.env).toEqual({ PATH: DEFAULT_PATH, FOO: "bar" });
    expect(spec.env).not.toBe(st.env); // later `env` statements do not change a started command's spec
    expect(spec.cwd).toBe("/");
  });

  test("a missing command is 127, a file that is not executable 126, a missing cwd an error naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-spec-"));
    try {
      writeFileSync(join(dir, "notexec"), "#!/bin/sh\n");
      chmodSync(join(dir, "notexec"), 0o644);
      expect(thrown(() => processSpec({ cwd: "/", env: { PATH: dir } }, ["no-such-command-here"])).status).toBe(127);
      // as root, X_OK holds for any file with an x bit: this one has none
      expect(thrown(() => processSpec({ cwd: "/", env: { PATH: dir } }, ["notexec"])).status).toBe(126);
      const e = thrown(() => processSpec({ cwd: join(dir, "gone"), env: { PATH: DEFAULT_PATH } }, ["sh"]));
      expect(e.message).toBe(`working directory "${join(dir, "gone")}" does not exist`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a run goes through the exec stage only when asked to (no spec step needs it yet)", () => {
    const spec = processSpec({ cwd: "/", env: { PATH: DEFAULT_PATH } }, ["sh"]);
    const saved = process.env.CTR_EXEC_STAGE;
    try {
      delete process.env.CTR_EXEC_STAGE;
      expect(needsExecStage(spec)).toBe(false);
      process.env.CTR_EXEC_STAGE = "always";
      expect(needsExecStage(spec)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.CTR_EXEC_STAGE;
      else process.env.CTR_EXEC_STAGE = saved;
    }
  });
});
