// `ctr compile FILE.ctr -o DIR` (runtime/features/oci/compile.ts): the round
// trip. A script is compiled to a bundle, then `ctr explain DIR` and `ctr
// explain FILE.ctr` are compared on their operation lines: each operation's
// statement, its side and every syscall line under it. What honestly differs
// is normalised, and only that:
//   - where an operation came from: `FILE.ctr:3:1` against `config.json:/mounts/0/type`,
//     and a seccomp profile's summary line, which names its file or config.json's pointer;
//   - the arguments' spelling on the header line: the bundle's statement is
//     rebuilt from config.json, with defaults spelled out (`mount proc /proc
//     nosuid noexec nodev`), sizes in bytes and `rlimit nofile 1024:1024`;
//   - the order between different statements: config.json's fields have no
//     order, and translate.ts gives its own. Operations of one statement keep
//     their order, and the tree the container sees (rootfs, mount, readonly,
//     mask) is one group whose order is kept;
//   - a bundle's `cwd /` when the script has no `cwd`: the spec requires one,
//     and "/" is where a script's commands start anyway.
// The bundle tests run no container; the runc test at the end does, as root,
// under the shared lock (flock /tmp/ctr-tests.lock).

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IS_ROOT, itest, onHost } from "../integration/host-state.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CTR = join(ROOT, "bin", "ctr");
const work = mkdtempSync(join(tmpdir(), "ctr-compile-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An empty directory standing for a rootfs: the planner checks only that it exists. */
const rootfs = join(work, "rootfs");
mkdirSync(rootfs);

function ctr(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([CTR, ...args], { cwd: work, env: { ...process.env, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

const TREE = new Set(["rootfs", "mount", "readonly", "mask", "volume"]);

/** `ctr explain` output as groups of operations (see the header for what is normalised). */
function operations(text: string, scriptHasCwd: boolean): Record<string, string[][]> {
  const groups: Record<string, string[][]> = {};
  let cur: string[] | null = null;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    // How a repeated run of a script starts (its cached plan, the direct start) is the script's: a bundle is never cached.
    if (line.startsWith("    # a repeated run ")) continue;
    if (line.startsWith("    ")) {
      cur!.push(line.replace(/^ {4}# seccomp \S+: /, "    # seccomp PROFILE: "));
      continue;
    }
    // "PLACE  SOURCE    [SIDE]": the place is up to the first two spaces.
    const m = /^\S+ {2}(\S+).* {4}\[([^\]]+)\]$/.exec(line);
    expect(m).not.toBeNull();
    const name = m![1]!;
    cur = [`${name} [${m![2]}]`];
    (groups[TREE.has(name) ? "tree" : name] ??= []).push(cur);
  }
  if (!scriptHasCwd && groups.cwd) {
    groups.cwd = groups.cwd.filter((op) => !op.some((l) => l.endsWith(': "/" (chdir before execve)')));
    if (groups.cwd.length === 0) delete groups.cwd;
  }
  return groups;
}

/** Compile `file` (relative to the work directory) to a new DIR and compare both explains. */
function roundTrip(file: string, env: Record<string, string> = {}) {
  const dir = join(work, `${file.replace(/\W/g, "_")}.bundle`);
  const c = ctr(["compile", "-o", dir, file], env);
  expect(c.err).toBe("");
  expect(c.code).toBe(0);
  expect(c.out).toBe(`${dir}/config.json\n`);
  const script = ctr(["explain", file], env);
  const bundle = ctr(["explain", dir], env);
  expect(script.code).toBe(0);
  expect(bundle.code).toBe(0);
  const hasCwd = /^\s*cwd\s/m.test(readFileSync(join(work, file), "utf8"));
  const a = operations(script.out, hasCwd);
  const b = operations(bundle.out, hasCwd);
  expect(Object.keys(a).length).toBeGreaterThan(1);
  expect(b).toEqual(a);
  return { dir, config: JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) };
}

function script(name: string, text: string): string {
  writeFileSync(join(work, name), text);
  return name;
}

const profile = join(work, "seccomp.json");
/** A Docker-style profile: a rule conditional on a capability, which the runtime spec's seccomp cannot say. */
const docker = join(work, "docker-seccomp.json");
writeFileSync(docker, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", includes: { caps: ["CAP_SYS_ADMIN"] } }] }));
writeFileSync(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));

describe("round trip: compile, then explain the bundle as the script", () => {
  test("namespaces, mounts, names, process, limits, paths", () => {
    const f = script(
      "full.ctr",
      `ns uts, pid, mnt, ipc
hostname box
domainname example
rootfs ${rootfs}
mount proc
mount dev
mount devpts gid=5
mount tmpfs /tmp size=64m mode=1777
mount sysfs /sys ro
mount bind /etc/hostname /etc/myhost ro
env PATH=/bin:/usr/bin GREETING=hello
cwd /tmp
user 0:0 groups=1,2
cap drop all
cap add net_bind_service, kill
rlimit nofile 1024:4096
rlimit core unlimited
no_new_privs
readonly /
mask /proc/kcore
readonly /proc/sys
sysctl kernel.domainname=foo
limit memory 64m swap=16m
limit cpu 20%
limit pids 100
exec /bin/sh -c 'hostname; echo hi'
`,
    );
    const { config } = roundTrip(f);
    expect(config.hostname).toBe("box");
    expect(config.root).toEqual({ path: rootfs, readonly: true });
    expect(config.process.args).toEqual(["/bin/sh", "-c", "hostname; echo hi"]);
    expect(config.linux.resources.memory).toEqual({ limit: 64 << 20, swap: 80 << 20 });
    // RLIM_INFINITY as the exact integer runc parses as a uint64.
    expect(readFileSync(join(work, "full_ctr.bundle", "config.json"), "utf8")).toContain('"soft": 18446744073709551615');
  });

  test("a user namespace with id maps and a non-root user with capabilities", () => {
    const f = script(
      "user.ctr",
      `ns user, uts, pid, mnt
map uid 0 100000 65536
map gid 0 100000 65536
hostname inside
rootfs ${rootfs}
mount proc
user 1000:1000
cap drop all
cap add chown
exec /bin/id
`,
    );
    const { config } = roundTrip(f);
    expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(config.process.capabilities.ambient).toEqual(["CAP_CHOWN"]);
  });

  test("devices, cpuset, cpu period and shares, a seccomp profile file, the cgroup mount", () => {
    const f = script(
      "cg.ctr",
      `ns uts, pid, mnt, cgroup
rootfs ${rootfs}
mount cgroup
mount mqueue
limit cpu 50% period=200ms shares=512
limit cpuset 0
device default
device allow c 10:200 rw
seccomp ${profile}
exec /bin/true
`,
    );
    const { config } = roundTrip(f);
    expect(config.linux.resources.cpu).toEqual({ quota: 100000, period: 200000, shares: 512, cpus: "0" });
    expect(config.linux.seccomp.syscalls[0].names).toEqual(["mkdir", "mkdirat"]);
  });

  test("block I/O: each `limit io` line an entry of blockIO's lists", () => {
    // Block devices of this machine (the translation back checks that they exist).
    const [a, b] = readdirSync("/sys/block").map((n) => readFileSync(`/sys/block/${n}/dev`, "utf8").trim()) as [string, string];
    const f = script(
      "io.ctr",
      `ns uts, pid, mnt
rootfs ${rootfs}
limit io ${a} rbps=1m
limit io ${b} wbps=2048
limit io ${a} wiops=100
exec /bin/true
`,
    );
    const { config } = roundTrip(f);
    const dev = (d: string) => ({ major: Number(d.split(":")[0]), minor: Number(d.split(":")[1]) });
    expect(config.linux.resources.blockIO).toEqual({ throttleReadBpsDevice: [{ ...dev(a), rate: 1048576 }], throttleWriteIOPSDevice: [{ ...dev(a), rate: 100 }], throttleWriteBpsDevice: [{ ...dev(b), rate: 2048 }] });
    // Two options on one line are two lists' entries, read back as two lines: refused, with the fix.
    const two = ctr(["compile", "-o", join(work, "two.bundle"), script("two.ctr", `ns mnt\nrootfs ${rootfs}\nlimit io ${a} rbps=1m wbps=1m\nexec /bin/true\n`)]);
    expect(two.code).toBe(2);
    expect(two.err).toContain("write one option per `limit io` line");
  });

  test("device nodes: linux.devices, read back as the same `device node` lines after the mounts", () => {
    const f = script(
      "nodes.ctr",
      `ns uts, pid, mnt
rootfs ${rootfs}
mount dev
device node /dev/fuse c 10:229 mode=0600 uid=5 gid=6
device node /run/fifo p
exec /bin/true
`,
    );
    const { config } = roundTrip(f);
    expect(config.linux.devices).toEqual([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o600, uid: 5, gid: 6 },
      { path: "/run/fifo", type: "p", fileMode: 0o666 },
    ]);
  });

  // The examples run commands (`run`, `expect`, `show`), which a bundle cannot; their
  // container setup is what compile can express: the example with those lines
  // removed, and its `rootfs default` given a directory (the test's rootfs).
  for (const ex of ["06-rootfs", "07-cgroup-cpu", "08-cgroup-memory"]) {
    test(`examples/${ex}.ctr without its run, expect and show lines`, () => {
      const text = readFileSync(join(ROOT, "examples", `${ex}.ctr`), "utf8");
      const setup = text
        .split("\n")
        .filter((l) => !/^\s*(run|expect|show)\b/.test(l))
        .join("\n")
        .replace(/^rootfs default$/m, `rootfs ${rootfs}`);
      expect(setup).not.toMatch(/^\s*rootfs default/m);
      const { config } = roundTrip(script(`${ex}.ctr`, setup), { ROOT: rootfs });
      expect(config.root.path).toBe(rootfs);
    });
  }
});

describe("what compile refuses, before anything is written", () => {
  function refused(name: string, text: string, message: string, line: number, column = 1) {
    const f = script(name, text);
    const dir = join(work, `${name}.refused`);
    const r = ctr(["compile", "-o", dir, f]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain(`${f}:${line}:${column}: error: ${message}`);
    expect(r.err).toContain("help: ");
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(work).filter((x) => x.includes(".tmp-"))).toEqual([]);
    return r;
  }
  const head = `ns uts, mnt\nrootfs ${rootfs}\n`;

  test("a script error: file:line:col, exit 2", () => {
    refused("syntax.ctr", `${head}mount proc /proc bogus\nexec /bin/true\n`, "too many arguments for `mount proc`", 3, 18);
  });
  test("`run`, with its fix", () => {
    const r = refused("run.ctr", `${head}run echo hi\nexec /bin/true\n`, "compile cannot express `run`", 3);
    expect(r.err).toContain("exec sh -c");
  });
  for (const [what, line] of [
    ["echo hi", "`echo`"],
    ["show ns", "`show`"],
    ["sleep 1s", "`sleep`"],
    ["mount overlay /m lower=/tmp", "`mount overlay` yet"],
    ["cap drop net_raw", "`cap drop net_raw` yet"],
    ["seccomp default", "`seccomp default` yet"],
    [`seccomp ${docker}`, "the profile's `includes` yet"],
  ] as const) {
    test(`\`${what}\``, () => {
      refused(`${what.split(" ")[0]}-${line.length}.ctr`, `${head}${what}\nexec /bin/true\n`, `compile cannot express ${line}`, 3);
    });
  }
  test("`rootfs default`, saying why", () => {
    const r = refused("default.ctr", "ns uts, mnt\nrootfs default\nexec /bin/true\n", "compile cannot express `rootfs default`", 2);
    expect(r.err).toContain("shared cache");
  });
  test("no `rootfs`, no `exec`", () => {
    refused("noroot.ctr", "ns uts, mnt\nexec /bin/true\n", "compile cannot express a script without `rootfs DIR`", 2);
    refused("noexec.ctr", `${head}hostname x\n`, "compile cannot express a script without `exec`", 3);
  });
  test("a relative host path, with the absolute one to write", () => {
    const r = refused("rel.ctr", "ns uts, mnt\nrootfs rootfs\nexec /bin/true\n", "compile cannot express the relative host path `rootfs` of `rootfs`", 2, 8);
    expect(r.err).toContain(`write it absolute, \`${rootfs}\``);
  });
  test("a second `env` line", () => {
    refused("env2.ctr", `${head}env A=1\nenv B=2\nexec /bin/true\n`, "compile cannot express a second `env`", 4);
  });
  test("an order config.json cannot keep: the round trip's check says where", () => {
    // The cgroup made by the first limit line: a device rule first here, the cpu limit first from config.json.
    const r = refused("order.ctr", `ns uts, mnt\nrootfs ${rootfs}\ndevice allow c 10:200 rw\nlimit cpu 20%\nexec /bin/true\n`, "compile cannot express this script faithfully", 3);
    expect(r.err).toContain("translate's order");
  });

  test("every example as it is: refused at the statement the error names", () => {
    for (const f of readdirSync(join(ROOT, "examples")).filter((x) => x.endsWith(".ctr"))) {
      const file = join(ROOT, "examples", f);
      const dir = join(work, `${f}.refused`);
      const r = ctr(["compile", "-o", dir, file]);
      expect(r.code).toBe(2);
      expect(existsSync(dir)).toBe(false);
      const m = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+): error: compile cannot express (?:a second )?\`(\\w+)`, "m").exec(r.err);
      expect({ f, err: m ? "" : r.err }).toEqual({ f, err: "" });
      const line = readFileSync(file, "utf8").split("\n")[Number(m![1]) - 1]!;
      expect(line.slice(Number(m![2]) - 1).startsWith(m![3]!)).toBe(true);
    }
  }, 60_000); // a ctr start per example

  test("an existing non-empty DIR is refused and left as it was", () => {
    const f = script("ok.ctr", `${head}exec /bin/true\n`);
    const dir = join(work, "taken");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep"), "mine");
    const r = ctr(["compile", "-o", dir, f]);
    expect(r.code).toBe(125);
    expect(r.err).toContain("is not empty");
    expect(readdirSync(dir)).toEqual(["keep"]);
    // An empty one is used.
    const empty = join(work, "empty");
    mkdirSync(empty);
    expect(ctr(["compile", "-o", empty, f]).code).toBe(0);
    expect(readdirSync(empty)).toEqual(["config.json"]);
  });

  test("ARGS are the script's; without -o the bundle is FILE.bundle in the working directory", () => {
    const f = script("args.ctr", `ns uts, mnt\nrootfs ${rootfs}\nexec \${args:-/bin/sh}\n`);
    const r = ctr(["compile", f, "echo", "hi there"]);
    expect(r.err).toBe("");
    expect(r.out).toBe("args.bundle/config.json\n");
    expect(JSON.parse(readFileSync(join(work, "args.bundle", "config.json"), "utf8")).process.args).toEqual(["echo", "hi there"]);
    // -o after FILE too.
    expect(ctr(["compile", f, "-o", "args2"]).out).toBe("args2/config.json\n");
    expect(JSON.parse(readFileSync(join(work, "args2", "config.json"), "utf8")).process.args).toEqual(["/bin/sh"]);
  });

  test("usage errors", () => {
    expect(ctr(["compile"]).code).toBe(2);
    expect(ctr(["compile", "-o"]).code).toBe(2);
    const r = ctr(["compile", "missing.ctr"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot read "missing.ctr"');
  });
});

// A compiled bundle run for real: by runc (when installed) and by ctr as an OCI
// runtime. As root, under the shared lock; nothing may be left on the host.
describe("a compiled bundle runs", () => {
  const RUNC = Bun.which("runc");
  let bb = "";
  const text = (root: string) => `ns uts, pid, mnt, ipc
hostname compiled
rootfs ${root}
mount proc
mount dev
env PATH=/bin
cap drop all
cap add kill
readonly /
limit pids 64
exec /bin/sh -c 'hostname; grep CapBnd /proc/self/status; touch /x 2>/dev/null || echo read-only; echo ok'
`;
  const expected = "compiled\nCapBnd:\t0000000000000020\nread-only\nok\n";
  function build(): string {
    if (bb) return bb;
    bb = join(work, "bb");
    const b = Bun.spawnSync([CTR, "rootfs", "busybox", bb], { stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
    return bb;
  }

  if (!RUNC && IS_ROOT) console.log("skip: runc is not installed (the runc run test needs it)");
  (RUNC ? itest : test.skip)("by runc: the hostname, the capabilities and the read-only root of the script", () =>
    onHost(async (h) => {
      const dir = join(h.scratch(), "bundle");
      const c = ctr(["compile", "-o", dir, script("runc.ctr", text(build()))]);
      expect(c.err).toBe("");
      const state = join(h.scratch(), "runc-state");
      const id = `ctr-compile-${process.pid}`;
      const r = Bun.spawnSync([RUNC!, "--root", state, "run", "--bundle", dir, id], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString()).toBe(expected);
      expect(r.exitCode).toBe(0);
    }),
  );
  itest("by ctr as an OCI runtime", () =>
    onHost(async (h) => {
      const dir = join(h.scratch(), "bundle");
      const c = ctr(["compile", "-o", dir, script("ctr-run.ctr", text(build()))]);
      expect(c.err).toBe("");
      const root = join(h.scratch(), "state");
      const r = await h.ctr(["--root", root, "run", "--bundle", dir, `ctr-compile-${process.pid}`]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(expected);
      expect(r.code).toBe(0);
    }),
  );
});
