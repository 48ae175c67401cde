/**
 * Sources of `mount bind` and `mount overlay` are host paths wherever the
 * statement appears: after the container mounted something over the same
 * path, after it entered its new root (the first `run`), and in the REPL.
 */
import { describe, expect } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { itest, onHost, type Host } from "./host-state.ts";

function hostFiles(dir: string): { file: string; lower: string; upper: string; work: string } {
  const file = join(dir, "x");
  writeFileSync(file, "host\n");
  const lower = join(dir, "lower");
  mkdirSync(lower);
  writeFileSync(join(lower, "f"), "from the lower layer\n");
  const upper = join(dir, "upper");
  const work = join(dir, "work");
  mkdirSync(upper);
  mkdirSync(work);
  for (const d of [dir, lower, upper, work]) chmodSync(d, 0o755);
  return { file, lower, upper, work };
}

/** Run the script's lines: its own `expect`s decide, so it must end cleanly. */
async function runsClean(h: Host, lines: string[]): Promise<void> {
  const r = await h.ctr(["-e", lines.join("\n")]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

describe("bind and overlay sources are host paths", () => {
  itest("a bind after the container wrote a file of the same name takes the host's file", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const { file } = hostFiles(dir);
      await runsClean(h, ["ns mnt, pid", `mount tmpfs ${dir}`, `run sh -c 'echo container > ${file}'`, `mount bind ${file} /m ro`, "run cat /m", "expect output == host"]);
      expect(readFileSync(file, "utf8")).toBe("host\n");
    }));

  itest("after the new root is entered, bind and overlay still find host paths", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const { file, lower, upper, work } = hostFiles(dir);
      await runsClean(h, [
        "ns mnt, pid",
        "rootfs default",
        "run true",
        `mount bind ${file} /m`,
        "run cat /m",
        "expect output == host",
        `mount overlay /o lower=${lower} upper=${upper} work=${work}`,
        "run sh -c 'cat /o/f; echo new > /o/g'",
        'expect output == "from the lower layer"',
      ]);
      expect(readdirSync(upper)).toEqual(["g"]);
    }));

  itest("a bind source that is gone when the statement runs: the run says it is not on the host", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const { file } = hostFiles(dir);
      // No rootfs: the container's / is the host's, so a `run` can remove the host file after the check.
      const r = await h.ctr(["-e", ["ns mnt, pid", `run rm ${file}`, `mount bind ${file} /m`, "run true"].join("\n")]);
      expect(r.stderr).toContain(`-e:3:1: error: bind source "${file}" does not exist on the host`);
      expect(r.stderr).toContain("help: bind sources are host paths");
      expect(r.code).toBe(125);
    }));

  itest("in the REPL, after `rootfs` and a `run`, a bind source is still the host's", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const { file } = hostFiles(dir);
      const input = ["ns mnt, pid", "rootfs default", "run true", `mount bind ${file} /m ro`, "run cat /m", ""].join("\n");
      const r = await h.ctr(["repl", "-q"], { stdin: input });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("host\n");
      expect(r.code).toBe(0);
    }));
});
