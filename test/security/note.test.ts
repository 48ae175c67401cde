// The teaching container's note (runtime/features/security/note.ts): one line on stderr from
// `ctr check` and from a run, for a container that is the host's root with every capability
// and no seccomp filter; silenced by docker_security, `cap`, `seccomp`, a non-root `user`,
// `ns user`, or CTR_TEACHING=1. The examples are teaching containers: they get it.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ociArchive } from "../image/archives.ts";
import { CTR, EXAMPLES, itest, onHost } from "../integration/host-state.ts";

const NOTE = /^ctr: note: the container runs as root with every capability and no seccomp filter: it can change the host through the kernel interfaces it can reach .*; for a sandbox add `import "std\/docker"` and `docker_security`; for a teaching session set CTR_TEACHING=1\n$/;

/** `ctr check -e SCRIPT` without CTR_TEACHING (it starts nothing: no root needed). */
function check(script: string, env: Record<string, string> = {}) {
  const base: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...env };
  if (!("CTR_TEACHING" in env)) delete base.CTR_TEACHING;
  const r = Bun.spawnSync({ cmd: [CTR, "check", "-e", script], env: base, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("the teaching container's note", () => {
  test("ctr check: one line, after the summary, exit 0; several commands, still one", () => {
    const r = check("ns uts, pid, mnt\nrootfs default\nmount proc\nrun true\nrun true\nexec true");
    expect(r.code).toBe(0);
    expect(r.out).toBe("-e: ok, 6 statements\n");
    expect(r.err).toMatch(NOTE);
  });

  test("`user 0` keeps root's power, and a command before a non-root `user` runs as root: still noted", () => {
    expect(check("ns pid\nuser 0\nrun true").err).toMatch(NOTE);
    expect(check("ns pid\nuser 1000\nrun true\nuser 0\nrun true").err).toMatch(NOTE);
    expect(check("ns pid\nrun true\nuser 1000\nrun true").err).toMatch(NOTE);
  });

  const quiet: [string, string][] = [
    ["docker_security", 'import "std/docker"\nns pid, mnt\ndocker_security\nrun true'],
    ["cap", "ns pid\ncap drop sys_admin\nrun true"],
    ["seccomp", "ns pid\nseccomp default\nrun true"],
    ["a non-root user", "ns pid\nuser 1000\nrun true"],
    ["ns user", "ns user, pid\nrun true"],
    ["no container (echo only)", 'echo "hi"'],
  ];
  for (const [what, script] of quiet) {
    test(`silenced by ${what}`, () => {
      const r = check(script);
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    });
  }

  test("silenced by CTR_TEACHING=1 (a teaching session); any other value does not", () => {
    expect(check("ns pid\nrun true", { CTR_TEACHING: "1" }).err).toBe("");
    expect(check("ns pid\nrun true", { CTR_TEACHING: "0" }).err).toMatch(NOTE);
  });

  test("an example (a teaching container on purpose) is noted", () => {
    const r = Bun.spawnSync({ cmd: [CTR, "check", join(EXAMPLES, "05-mount.ctr")], env: { ...process.env, CTR_TEACHING: "" }, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.toString()).toMatch(NOTE);
  });

  itest("an image whose User is not root: quiet; `user 0` after its `rootfs image`: noted", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const tree = join(dir, "bb");
      const b = Bun.spawnSync([CTR, "rootfs", "busybox", tree], { stderr: "pipe" });
      if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr}`);
      const tar = join(dir, "base.tar");
      Bun.spawnSync(["tar", "-C", tree, "-cf", tar, "."]);
      const file = await ociArchive(join(dir, "who.tar"), { layers: [Buffer.from(readFileSync(tar))], config: { User: "65534", Cmd: ["/bin/true"] } });
      const env = { CTR_STORE: join(dir, "store"), CTR_TEACHING: "" };
      const imp = await h.ctr(["image", "import", file, "who"], { env });
      expect({ code: imp.code, err: imp.stderr }).toEqual({ code: 0, err: "" });
      const quiet = await h.ctr(["check", "-e", "ns pid, mnt\nrootfs image who\nexec default"], { env });
      expect({ code: quiet.code, err: quiet.stderr }).toEqual({ code: 0, err: "" });
      const noted = await h.ctr(["check", "-e", "ns pid, mnt\nrootfs image who\nuser 0\nexec default"], { env });
      expect(noted.stderr).toMatch(NOTE);
    }),
    60_000,
  );

  itest("at run time: the note once on stderr, the output as it was; a second run (its plan cached) notes it too", () =>
    onHost(async (h) => {
      const script = "ns uts, pid\nrun echo one\nrun echo two";
      for (let i = 0; i < 2; i++) {
        const r = await h.ctr(["-e", script], { env: { CTR_TEACHING: "" } });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("one\ntwo\n");
        expect(r.stderr).toMatch(NOTE);
      }
      const quietRun = await h.ctr(["-e", script]);
      expect(quietRun.stderr).toBe("");
    }),
  );
});
