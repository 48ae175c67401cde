// A bundle's hooks, for real (as root): each kind writes what it sees (its
// argv, env, the state on its stdin, its mount and UTS namespaces, its root)
// to a log, and the test checks where and when each ran against the runtime
// spec (runtime/features/oci/hooks.ts has the rules); a failing hook fails
// create or start, or is a warning, as the spec says; bad hooks are refused
// by `ctr check`. Nothing is left on the host (test/integration/host-state.ts).

import { describe, expect } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { busyboxRootfs } from "./busybox.ts";
import { CTR, REPO, itest, onHost, type Host } from "../integration/host-state.ts";

const bb = busyboxRootfs("ctr-it-hooks-");

/** The hook: one line per run, `KIND|mnt ns|hostname|FOO|HOME|is the container's root|state`. */
const HOOK = `#!/bin/sh
{ printf '%s|%s|%s|%s|%s|' "$1" "$(readlink /proc/self/ns/mnt)" "$(hostname)" "$FOO" "\${HOME-unset}"
  if [ -e /in-container-root ]; then printf 'croot|'; else printf 'host-root|'; fi
  tr -d '\\n'; echo; } >> "$2"
exit "\${3:-0}"
`;

interface Setup {
  work: string;
  root: string;
  bundle: string;
  log: string;
}

/** A bundle of `ctr spec` with a busybox root of its own (a copy: startContainer's hook writes in it) and `hooks`. */
async function setup(h: Host, hooks: (hook: string, inRoot: string, log: string, inLog: string) => Record<string, unknown>): Promise<Setup> {
  const work = h.scratch();
  const root = join(work, "rootfs");
  cpSync(bb.path, root, { recursive: true });
  writeFileSync(join(root, "in-container-root"), "");
  const hook = join(work, "hook.sh");
  writeFileSync(hook, HOOK);
  chmodSync(hook, 0o755);
  writeFileSync(join(root, "hook.sh"), HOOK);
  chmodSync(join(root, "hook.sh"), 0o755);
  const log = join(work, "hooks.log");
  const b = join(work, "bundle");
  mkdirSync(b);
  expect((await h.ctr(["spec", "--bundle", b])).code).toBe(0);
  const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  cfg.root = { path: root, readonly: false };
  cfg.process.args = ["sleep", "100"];
  cfg.hooks = hooks(hook, "/hook.sh", log, "/hooks.log");
  writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
  return { work, root, bundle: b, log };
}

function oci(h: Host, s: Setup, args: string[]) {
  return h.ctr(["--root", join(s.work, "state"), "--log", join(s.work, "log.json"), ...args]);
}

/** `create` with its streams to a file; the supervisor joins the host check's pids. */
async function create(h: Host, s: Setup, id: string): Promise<number> {
  const proc = Bun.spawn({ cmd: [CTR, "--root", join(s.work, "state"), "--log", join(s.work, "log.json"), "create", "--bundle", s.bundle, id], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", "ignore", "ignore"] });
  h.pids.push(proc.pid);
  const code = await proc.exited;
  const rec = join(s.work, "state", id, "state.json");
  if (existsSync(rec)) {
    const sup = JSON.parse(readFileSync(rec, "utf8")).supervisor;
    if (sup) h.pids.push(sup.pid);
  }
  return code;
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : []);
const parse = (line: string) => {
  const [kind, mnt, host, foo, path, where, ...state] = line.split("|");
  return { kind, mnt, host, foo, path, where, state: JSON.parse(state.join("|")) };
};

describe("OCI hooks", () => {
  itest("each kind at its point of the lifecycle, in its namespaces, with the state on stdin", () =>
    onHost(async (h) => {
      const s = await setup(h, (hook, inRoot, log, inLog) => {
        const at = (kind: string, path: string, out: string) => [{ path, args: ["my-hook", kind, out], env: ["FOO=bar"] }];
        return {
          createRuntime: at("createRuntime", hook, log),
          createContainer: at("createContainer", hook, log),
          startContainer: at("startContainer", inRoot, inLog),
          poststart: at("poststart", hook, log),
          poststop: at("poststop", hook, log),
        };
      });
      const hostMnt = readlinkSync("/proc/self/ns/mnt");
      expect(await create(h, s, "hk")).toBe(0);
      const state = JSON.parse((await oci(h, s, ["state", "hk"])).stdout);
      const afterCreate = lines(s.log).map(parse);
      expect(afterCreate.map((l) => l.kind)).toEqual(["createRuntime", "createContainer"]);
      const [rt, cc] = afterCreate;
      // createRuntime: the runtime's namespaces; its env is FOO alone (no HOME of ctr's).
      expect(process.env.HOME).toBeTruthy();
      expect(rt).toMatchObject({ mnt: hostMnt, host: hostname(), foo: "bar", path: "unset", where: "host-root" });
      expect(rt!.state).toMatchObject({ ociVersion: expect.stringMatching(/^1\./), id: "hk", status: "creating", pid: state.pid, bundle: s.bundle });
      // createContainer: the container's mount and UTS namespaces, before pivot_root (the host's tree in view).
      expect(cc!.mnt).not.toBe(hostMnt);
      expect(cc).toMatchObject({ host: "ctr", foo: "bar", path: "unset", where: "host-root" });
      expect(cc!.state).toMatchObject({ status: "creating", pid: state.pid });
      expect(readFileSync(`/proc/${state.pid}/comm`, "utf8").trim()).toBe("ctr-init"); // the command waits
      expect((await oci(h, s, ["start", "hk"])).code).toBe(0);
      // startContainer (in the container's root) and poststart (back on the host) ran before start returned.
      const sc = lines(join(s.root, "hooks.log")).map(parse);
      expect(sc.map((l) => l.kind)).toEqual(["startContainer"]);
      expect(sc[0]).toMatchObject({ mnt: cc!.mnt, host: "ctr", foo: "bar", where: "croot" });
      expect(sc[0]!.state).toMatchObject({ status: "created", pid: state.pid });
      const ps = lines(s.log).map(parse);
      expect(ps.map((l) => l.kind)).toEqual(["createRuntime", "createContainer", "poststart"]);
      expect(ps[2]).toMatchObject({ mnt: hostMnt, where: "host-root" });
      expect(ps[2]!.state).toMatchObject({ status: "running", pid: state.pid });
      expect(readFileSync(`/proc/${state.pid}/comm`, "utf8").trim()).toBe("sleep");
      // poststop: at delete, once the container is gone.
      expect((await oci(h, s, ["delete", "--force", "hk"])).code).toBe(0);
      const all = lines(s.log).map(parse);
      expect(all.map((l) => l.kind)).toEqual(["createRuntime", "createContainer", "poststart", "poststop"]);
      expect(all[3]!.state).toMatchObject({ status: "stopped", id: "hk" });
      expect(existsSync(`/proc/${state.pid}`) && !readFileSync(`/proc/${state.pid}/stat`, "utf8").includes(") Z")).toBe(false);
    }),
    60_000,
  );

  itest("a failing createRuntime hook fails create, naming it; its poststop hooks run, as runc's destroy runs them; the container is gone", () =>
    onHost(async (h) => {
      const s = await setup(h, (hook, _r, log) => ({ createRuntime: [{ path: hook, args: ["h", "createRuntime", log, "3"] }], poststop: [{ path: hook, args: ["h", "poststop", log, "0"] }] }));
      expect(await create(h, s, "f1")).toBe(1);
      expect(readFileSync(join(s.work, "log.json"), "utf8")).toContain(`createRuntime hook 0 (${join(s.work, "hook.sh")}) exited with status 3`);
      expect(lines(s.log).map((l) => parse(l).kind)).toEqual(["createRuntime", "poststop"]);
      // Nothing is left to delete, and the hooks do not run twice.
      expect((await oci(h, s, ["delete", "--force", "f1"])).code).toBe(0);
      expect((await oci(h, s, ["state", "f1"])).code).toBe(1);
      expect(lines(s.log).map((l) => parse(l).kind)).toEqual(["createRuntime", "poststop"]);
    }),
    60_000,
  );

  itest("a hook past its timeout is killed and fails create; a failing startContainer fails start", () =>
    onHost(async (h) => {
      const s = await setup(h, () => ({ createContainer: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] }));
      const t0 = Date.now();
      expect(await create(h, s, "t1")).toBe(1);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(readFileSync(join(s.work, "log.json"), "utf8")).toContain("createContainer hook 0 (/bin/sleep) timed out after 1 s");
      await oci(h, s, ["delete", "--force", "t1"]);
      const s2 = await setup(h, (_hook, inRoot, _l, inLog) => ({ startContainer: [{ path: inRoot, args: ["h", "startContainer", inLog, "4"] }] }));
      expect(await create(h, s2, "t2")).toBe(0);
      const start = await oci(h, s2, ["start", "t2"]);
      expect(start.code).toBe(1);
      expect(start.stderr).toContain("startContainer hook 0");
      expect(start.stderr).toContain("exited with status 4");
      expect((await oci(h, s2, ["delete", "--force", "t2"])).code).toBe(0);
    }),
    60_000,
  );

  itest("a failing poststart hook is a warning: start succeeds and the command runs", () =>
    onHost(async (h) => {
      const s = await setup(h, (hook, _r, log) => ({ poststart: [{ path: hook, args: ["h", "poststart", log, "5"] }] }));
      expect(await create(h, s, "w1")).toBe(0);
      expect((await oci(h, s, ["start", "w1"])).code).toBe(0);
      const state = JSON.parse((await oci(h, s, ["state", "w1"])).stdout);
      expect(state.status).toBe("running");
      expect(readFileSync(join(s.work, "log.json"), "utf8")).toContain("poststart hook 0");
      expect((await oci(h, s, ["delete", "--force", "w1"])).code).toBe(0);
    }),
    60_000,
  );

  itest("bad hooks are refused by ctr check, at their JSON pointer", () =>
    onHost(async (h) => {
      const s = await setup(h, () => ({ createRuntime: [{ path: "hook.sh" }], preStart: [{ path: "/bin/true" }], poststop: [{ path: "/bin/true", timeout: 0 }] }));
      const r = await h.ctr(["check", s.bundle]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("/hooks/createRuntime/0/path");
      expect(r.stderr).toContain('a hook\'s path must be absolute, not "hook.sh"');
      expect(r.stderr).toContain("`hooks.preStart` is not supported yet");
      expect(r.stderr).toContain("a hook's timeout must be greater than zero");
    }),
    60_000,
  );
});
