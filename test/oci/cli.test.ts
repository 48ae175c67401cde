// `ctr check BUNDLE` and `ctr explain BUNDLE` from the command line, and the
// OCI verbs that start no container (spec, features, state of an unknown id,
// usage errors): no root, no container.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CTR = join(import.meta.dir, "..", "..", "bin", "ctr");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function ctr(args: string[], cwd?: string) {
  const r = Bun.spawnSync({ cmd: [CTR, ...args], cwd, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

function bundle(): string {
  const dir = mkdtempSync(join(tmpdir(), "ctr-oci-cli-"));
  dirs.push(dir);
  expect(ctr(["spec", "--bundle", dir]).code).toBe(0);
  return dir;
}

describe("a bundle on the command line", () => {
  test("ctr spec writes a config ctr checks clean; a second spec refuses to overwrite it", () => {
    const b = bundle();
    const again = ctr(["spec", "--bundle", b]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("exists. Remove it first");
    // Its root is the bundle's rootfs, which does not exist here: the check says so, at the pointer.
    const r = ctr(["check", b]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${b}/config.json:/root/path:`);
    expect(r.err).toContain(`rootfs "${b}/rootfs" does not exist on the host`);
  });
  test("check and explain: the statements, each op at the JSON pointer it came from", () => {
    const b = bundle();
    const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
    cfg.root.path = "/";
    writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
    const check = ctr(["check", b]);
    expect(check.err).toBe("");
    expect(check.code).toBe(0);
    expect(check.out).toMatch(new RegExp(`^${b}/config.json: ok, \\d+ statements; \\d+ host paths? checked on this machine\\n$`));
    const ex = ctr(["explain", join(b, "config.json")]);
    expect(ex.code).toBe(0);
    const heads = ex.out.split("\n").filter((l) => l.startsWith(b));
    expect(heads[0]).toBe(`${b}/config.json:/linux/namespaces  ns pid, net, ipc, uts, mnt    [stage 1]`);
    expect(heads).toContain(`${b}/config.json:/hostname  hostname ctr    [PID 1]`);
    expect(heads).toContain(`${b}/config.json:/process/rlimits/0  rlimit nofile 1024:1024    [PID 1]`);
    expect(heads.at(-1)).toMatch(/:\/process\/args  exec sh    \[PID 1\]$/);
    expect(ex.out).toContain('sethostname("ctr")');
  });
  test("an unsupported field: the error names it, with the line of config.json under it", () => {
    const b = bundle();
    const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
    cfg.root.path = "/";
    cfg.linux.intelRdt = { closID: "x" };
    writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
    const r = ctr(["check", b]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/config\.json:\/linux\/intelRdt:\d+:5: error: `linux.intelRdt` is not supported yet/);
    expect(r.err).toContain('"intelRdt": {');
  });
});

describe("OCI verbs that start nothing", () => {
  test("features, state of an unknown id, usage errors: runc's exit status 1, the JSON log", () => {
    const f = JSON.parse(ctr(["features"]).out);
    expect(f.linux.namespaces).toContain("mount");
    expect(f.mountOptions).toContain("rbind");
    const root = mkdtempSync(join(tmpdir(), "ctr-oci-cli-root-"));
    dirs.push(root);
    const log = join(root, "log.json");
    const s = ctr(["--root", root, "--log", log, "--log-format", "json", "state", "nope"]);
    expect(s.code).toBe(1);
    expect(JSON.parse(readFileSync(log, "utf8").trim())).toMatchObject({ level: "error", msg: "container does not exist" });
    expect(ctr(["--root", root, "state"]).code).toBe(1);
    expect(ctr(["--root", root, "--log-format", "xml", "state", "x"]).code).toBe(1);
    expect(ctr(["--root", root, "delete", "--force", "nope"]).code).toBe(0); // as runc: nothing to delete
    expect(ctr(["--root", root, "create", "--no-pivot", "id"]).err).toContain("--no-pivot is not supported yet");
    expect(ctr(["--root", root, "exec", "id", "true"]).code).toBe(1);
    // --systemd-cgroup is accepted and says what ctr does instead, in the log.
    expect(ctr(["--systemd-cgroup", "--root", root, "--log", log, "list", "-q"]).code).toBe(0);
    expect(readFileSync(log, "utf8")).toContain("--systemd-cgroup: ctr makes the container's cgroups itself");
    // ctr's own commands are not taken for runc's.
    expect(ctr(["run", "x.ctr"]).err).toContain("`run` is not a command, nor a script file");
  });
});
