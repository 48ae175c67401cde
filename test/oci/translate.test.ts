// config.json -> the commands of a script (runtime/features/oci/translate.ts),
// checked and planned as a script's (runtime/features/oci/config.ts): each
// field gives its statement, bound by the checker; a field ctr does not
// honour is an error naming it, at its JSON pointer. No root, no container.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBundle } from "../../runtime/features/oci/config.ts";
import { parseLocated } from "../../runtime/features/oci/json.ts";
import type { HostFacts } from "../../runtime/features/oci/translate.ts";
import { sourceText } from "../../runtime/plan.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A minimal valid config, with `extra` merged in at the top (process and linux merged a level deeper). */
function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { process: p, linux: l, ...rest } = extra as { process?: object; linux?: object };
  return {
    ociVersion: "1.0.2",
    root: { path: "rootfs" },
    process: { args: ["sh"], cwd: "/", ...p },
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }], ...l },
    ...rest,
  };
}

function compile(cfg: unknown, text?: string, facts?: HostFacts) {
  const dir = mkdtempSync(join(tmpdir(), "ctr-oci-test-"));
  dirs.push(dir);
  writeFileSync(join(dir, "config.json"), text ?? JSON.stringify(cfg, null, 2));
  const b = compileBundle(dir, { stateDir: "/run/ctr/ID", defaultRootfs: "/var/cache/ctr/rootfs", cpus: 2, ...(facts ? { facts } : {}) });
  const lines = b.commands.map((c) => sourceText(c).replaceAll(dir, "BUNDLE"));
  const errors = b.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.span.file.replace(/^.*config\.json:/, "")}: ${d.message}`);
  const warnings = b.diagnostics.filter((d) => d.severity === "warning").map((d) => `${d.span.file.replace(/^.*config\.json:/, "")}: ${d.message}`);
  return { b, lines, errors, warnings, dir };
}

describe("json places", () => {
  test("every value has its pointer, line and column", () => {
    const text = '{\n  "a": [1, {"b/c": "x"}],\n  "d~": true\n}';
    const doc = parseLocated(text);
    expect(doc.value).toEqual(JSON.parse(text));
    const p = doc.places.get("/a/1/b~1c")!;
    expect(text.slice(p.offset, p.offset + p.length)).toBe('"x"');
    expect(text.slice(p.keyOffset!, p.keyOffset! + p.keyLength!)).toBe('"b/c"');
    expect(doc.lineColumn(p.offset)).toEqual({ line: 2, column: 20 });
    expect(doc.places.has("/d~0")).toBe(true);
  });
  test("what JSON.parse refuses is refused, with its place", () => {
    for (const bad of ['{"a": 1,}', '{"a" 1}', "[1 2]", '{"a": "x\ny"}', "01", "{} x", ""]) {
      expect(() => JSON.parse(bad)).toThrow();
      expect(() => parseLocated(bad)).toThrow();
    }
    const r = compile(null, '{\n  "ociVersion": "1.0.2",\n  oops\n}');
    expect(r.errors).toEqual([expect.stringContaining("not valid JSON")]);
    expect(r.b.diagnostics[0]!.span.line).toBe(3);
  });
});

describe("each field gives its statement", () => {
  test("a minimal config: ns, rootfs, cwd, exec", () => {
    const r = compile(config());
    expect(r.errors).toEqual([]);
    expect(r.lines).toEqual(["ns pid, mnt, uts", "rootfs BUNDLE/rootfs", "cwd /", "exec sh"]);
    // Bound by the checker, planned by the planner.
    expect(r.b.commands.every((c) => c.bound)).toBe(true);
    expect(r.b.result.plan.namespaces).toEqual(["mnt", "uts", "pid"]);
    expect(r.b.result.plan.ops.map((o) => o.kind)).toContain("exec");
  });
  test("namespaces: every type; none is `ns none`", () => {
    const all = ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"].map((type) => ({ type }));
    expect(compile(config({ linux: { namespaces: all } })).lines[0]).toBe("ns pid, net, ipc, uts, mnt, user, cgroup");
    const none = compile({ ociVersion: "1.0.2", root: { path: "/" }, process: { args: ["true"], cwd: "/" } });
    expect(none.lines.slice(0, 2)).toEqual(["ns none", "rootfs /"]);
    expect(none.errors).toEqual([expect.stringMatching(/^\/root\/path: `rootfs` needs `ns mnt`/)]);
  });
  test("a network, ipc, uts or cgroup namespace by path is on the ns line and joined by path; other types by path refused, naming them; an unknown type too", () => {
    const r = compile(config({ linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "network", path: "/proc/1/ns/net" }, { type: "uts", path: "/run/uts/x" }, { type: "nope" }] } }));
    expect(r.errors).toEqual(['/linux/namespaces/4/type: unknown namespace type "nope"']);
    const ok = compile(config({ linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "network", path: "/proc/1/ns/net" }, { type: "uts", path: "/run/uts/x" }] } }));
    expect(ok.lines[0]).toBe("ns pid, mnt, net, uts");
    expect(ok.b.nsPaths).toEqual([
      { ns: "net", path: "/proc/1/ns/net" },
      { ns: "uts", path: "/run/uts/x" },
    ]);
    // A cgroup namespace by path too, but not with a cgroup mount (which binds the container's cgroup as its own namespace names it).
    expect(compile(config({ linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "cgroup", path: "/proc/1/ns/cgroup" }] } })).b.nsPaths).toEqual([{ ns: "cgroup", path: "/proc/1/ns/cgroup" }]);
    const cgm = compile(config({ mounts: [{ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup" }], linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "cgroup", path: "/proc/1/ns/cgroup" }] } }));
    expect(cgm.errors).toEqual([expect.stringMatching(/^\/linux\/namespaces\/2\/path: `linux.namespaces\[2\].path` is not supported yet: a cgroup namespace by path with a cgroup mount/)]);
    // A PID namespace by path: joined by stage 1, and off the plan's namespaces (the container has none of its own).
    const pid = compile(config({ linux: { namespaces: [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "mount" }] } }));
    expect(pid.errors).toEqual([]);
    expect(pid.lines[0]).toBe("ns pid, mnt");
    expect(pid.b.nsPaths).toEqual([{ ns: "pid", path: "/proc/1/ns/pid" }]);
    expect(pid.b.result.plan.namespaces).toEqual(["mnt"]);
    expect(pid.b.result.plan.ops.find((o) => o.kind === "unshare")).toMatchObject({ paths: [{ ns: "pid", path: "/proc/1/ns/pid" }] });
    // A user namespace by path: joined first by stage 1, neither made nor mapped (no idmap op, off the plan's namespaces).
    const user = compile(config({ linux: { namespaces: [{ type: "mount" }, { type: "user", path: "/proc/1/ns/user" }] } }));
    expect(user.errors).toEqual([]);
    expect(user.lines[0]).toBe("ns mnt, user");
    expect(user.b.result.plan.namespaces).toEqual(["mnt"]);
    expect(user.b.result.plan.ops.filter((o) => o.kind === "idmap")).toEqual([]);
    // A mount namespace by path: PID 1 joins it (not stage 1's joins, the unshare's paths say it); never ctr's own.
    const facts: HostFacts = { umask: 0o022, hasSubmounts: () => false, isOwnMountNs: (p) => p === "/proc/1/ns/mnt" };
    const mnt = compile(config({ linux: { namespaces: [{ type: "pid" }, { type: "mount", path: "/run/mnt-ns" }] } }), undefined, facts);
    expect(mnt.errors).toEqual([]);
    expect(mnt.b.nsPaths).toEqual([{ ns: "mnt", path: "/run/mnt-ns" }]);
    expect(compile(config({ linux: { namespaces: [{ type: "pid" }, { type: "mount", path: "/proc/1/ns/mnt" }] } }), undefined, facts).errors).toEqual([
      '/linux/namespaces/1/path: the mount namespace at "/proc/1/ns/mnt" is ctr\'s own: the container\'s root would be mounted and pivoted into there, on the host',
    ]);
    const bad = compile(config({ linux: { namespaces: [{ type: "time", path: "/proc/1/ns/time" }, { type: "mount" }, { type: "ipc", path: "relative" }] } }));
    expect(bad.errors).toEqual([
      expect.stringMatching(/^\/linux\/namespaces\/0\/path: `linux.namespaces\[0\].path` is not supported yet: joining a time namespace by path/),
      '/linux/namespaces/2/path: a namespace path must be absolute, not "relative"',
    ]);
  });
  test("hostname and domainname; without ns uts, the checker's error points at the field", () => {
    expect(compile(config({ hostname: "box", domainname: "example.org" })).lines.slice(2, 4)).toEqual(["hostname box", "domainname example.org"]);
    const r = compile(config({ hostname: "box", linux: { namespaces: [{ type: "mount" }] } }));
    expect(r.errors).toEqual([expect.stringMatching(/^\/hostname: `hostname` needs `ns uts`/)]);
  });
  test("root: a relative path is the bundle's; readonly is `readonly /`", () => {
    const r = compile(config({ root: { path: "rootfs", readonly: true } }));
    expect(r.lines).toContain("rootfs BUNDLE/rootfs");
    expect(r.lines).toContain("readonly /");
  });
  test("mounts: proc, sysfs, tmpfs, dev, devpts, mqueue, bind, with options", () => {
    const mounts = [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/data", type: "bind", source: "data", options: ["rbind", "rprivate", "ro"] },
      { destination: "/tmp", source: "/tmp", options: ["rbind", "rw"] },
    ];
    const r = compile(config({ mounts }));
    expect(r.errors).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith("mount"))).toEqual([
      "mount proc /proc",
      "mount dev /dev",
      "mount devpts /dev/pts gid=5 nosuid noexec",
      "mount tmpfs /dev/shm mode=1777 size=65536k nosuid noexec nodev",
      "mount mqueue /dev/mqueue nosuid noexec nodev",
      "mount sysfs /sys nosuid noexec nodev ro",
      "mount bind BUNDLE/data /data ro",
      "mount bind /tmp /tmp",
    ]);
    const devpts = r.b.result.plan.ops.find((o) => o.kind === "mount" && o.mount.fstype === "devpts");
    expect(devpts?.kind === "mount" && devpts.mount.data).toBe("newinstance,ptmxmode=0666,mode=0620,gid=5");
  });
  test("mount options and types ctr does not honour are refused, naming them", () => {
    const mounts = [
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["rw", "nr_inodes=1"] },
      { destination: "/x", type: "tmpfs", source: "tmpfs", options: ["nr_inodes=10"] },
      { destination: "/y", type: "bind", source: "/tmp", options: ["bind"] },
      { destination: "/z", type: "bind", source: "/tmp", options: ["rbind", "rshared"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["strictatime", "mode=700"] },
    ];
    const r = compile(config({ mounts }));
    expect(r.errors).toEqual([
      expect.stringMatching(/^\/mounts\/0\/options\/1: mount option "nr_inodes=1" is not supported yet for cgroup: ctr's cgroup mount takes ro, nosuid, nodev, noexec/),
      expect.stringMatching(/^\/mounts\/1\/options\/0: mount option "nr_inodes=10" is not supported yet for tmpfs/),
      expect.stringMatching(/^\/mounts\/2\/options\/0: mount option "bind" is not supported yet for bind: ctr's binds are recursive/),
      expect.stringMatching(/^\/mounts\/3\/options\/1: mount option "rshared" is not supported yet/),
      expect.stringMatching(/^\/mounts\/4\/options\/1: mount option "mode=700" is not supported yet/),
    ]);
    expect(r.warnings).toEqual([]);
    // strictatime is honoured, on /dev and on a tmpfs: the fsmount attribute (runtime/features/mount/flags.ts).
    const strict = compile(config({ mounts: [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] }, { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755"] }] }));
    expect(strict.errors).toEqual([]);
    expect(strict.lines).toContain("mount dev /dev strictatime");
    expect(strict.lines).toContain("mount tmpfs /run mode=755 nosuid strictatime");
  });
  test("process: args, env, cwd, user with additionalGids, rlimits, noNewPrivileges", () => {
    const r = compile(
      config({
        process: {
          args: ["/bin/sh", "-c", "echo 'hi there'"],
          env: ["PATH=/bin", "A=b=c"],
          cwd: "/tmp",
          user: { uid: 1000, gid: 100, additionalGids: [10, 20] },
          rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }, { type: "RLIMIT_CORE", soft: 0, hard: 18446744073709551615 }],
          noNewPrivileges: true,
        },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.lines.slice(2)).toEqual(["env PATH=/bin A=b=c", "cwd /tmp", "user 1000:100 groups=10,20", "rlimit nofile 1024:4096", "rlimit core 0:unlimited", "no_new_privs", "exec /bin/sh -c 'echo '\"'\"'hi there'\"'\"''".replace(`'echo '"'"'hi there'"'"''`, `"echo 'hi there'"`)]);
    const exec = r.b.result.plan.ops.find((o) => o.kind === "exec");
    expect(exec?.kind === "exec" && exec.argv).toEqual(["/bin/sh", "-c", "echo 'hi there'"]);
  });
  test("capabilities: one set is `cap drop all` + `cap add`; sets that differ are refused", () => {
    const caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    const ok = compile(config({ process: { capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps } } }));
    expect(ok.errors).toEqual([]);
    expect(ok.lines).toContain("cap drop all");
    expect(ok.lines).toContain("cap add cap_kill cap_net_bind_service");
    expect(ok.warnings).toEqual([expect.stringMatching(/^\/process\/capabilities\/ambient: the ambient set of uid 0 is left empty/)]);
    const bad = compile(config({ process: { capabilities: { bounding: caps, effective: ["CAP_KILL"], permitted: caps } } }));
    expect(bad.errors).toEqual([expect.stringMatching(/^\/process\/capabilities\/effective: `process.capabilities.effective` is not supported yet/)]);
    const user = compile(config({ process: { user: { uid: 1000, gid: 1000 }, capabilities: { bounding: caps, effective: caps, permitted: caps } } }));
    expect(user.errors).toEqual([expect.stringMatching(/^\/process\/capabilities\/inheritable: .* not supported yet: for a non-root user/), expect.stringMatching(/^\/process\/capabilities\/ambient:/)]);
  });
  test("umask: accepted when it is the one the process inherits; a plain bind when nothing is mounted below its source", () => {
    const facts: HostFacts = { umask: 0o022, hasSubmounts: (p) => p === "/srv" };
    const cfg = (umask: number, src: string) => config({ process: { user: { uid: 0, gid: 0, umask } }, mounts: [{ destination: "/x", type: "bind", source: src, options: ["bind", "rprivate"] }] });
    const ok = compile(cfg(0o022, "/etc/hosts"), undefined, facts);
    expect(ok.errors).toEqual([]);
    expect(ok.lines).toContain("mount bind /etc/hosts /x");
    const bad = compile(cfg(0o077, "/srv"), undefined, facts);
    expect(bad.errors).toEqual([
      expect.stringMatching(/^\/process\/user\/umask: `process.user.umask` is not supported yet: a umask other than the one ctr's processes inherit \(0022\)/),
      expect.stringMatching(/^\/mounts\/0\/options\/0: mount option "bind" is not supported yet for bind: "\/srv" has mounts below it/),
    ]);
    // Without facts about the host, neither can be honoured knowingly.
    expect(compile(cfg(0o022, "/etc/hosts")).errors.length).toBe(2);
  });
  test("maskedPaths and readonlyPaths", () => {
    const r = compile(config({ linux: { maskedPaths: ["/proc/kcore"], readonlyPaths: ["/proc/sys"] } }));
    expect(r.lines).toContain("mask /proc/kcore");
    expect(r.lines).toContain("readonly /proc/sys");
  });
  test("resources: memory, cpu, cpuset, pids, devices", () => {
    const r = compile(
      config({
        linux: {
          resources: {
            memory: { limit: 67108864 },
            cpu: { quota: 20000, period: 100000, shares: 512, cpus: "0", mems: "0" },
            pids: { limit: 64 },
            devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }],
          },
        },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith("limit") || l.startsWith("device"))).toEqual([
      "limit memory 67108864",
      "limit cpu 20% period=100ms shares=512",
      "limit cpuset 0 mems=0",
      "limit pids 64",
      "device default",
      "device allow c 10:200 rwm",
    ]);
    // memory.swap is memory and swap together (podman's --memory 64m asks for 128m): ctr's swap= is the swap alone.
    const swap = (v: number) => compile(config({ linux: { resources: { memory: { limit: 67108864, swap: v } } } }));
    expect(swap(134217728).lines).toContain("limit memory 67108864 swap=67108864");
    expect(swap(67108864).lines).toContain("limit memory 67108864");
    expect(swap(-1).errors).toEqual([expect.stringMatching(/^\/linux\/resources\/memory\/swap: `linux\.resources\.memory\.swap` is not supported yet: unlimited swap/)]);
    expect(swap(1024).errors).toEqual([expect.stringMatching(/^\/linux\/resources\/memory\/swap: memory\.swap \(1024\) is below memory\.limit/)]);
  });
  test("linux.devices: each a `device node` after the mounts; with a device policy, each allowed after its rules; bad entries are errors at them", () => {
    const devices = [
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 },
      { path: "/dev/loop9", type: "b", major: 7, minor: 9, fileMode: 0o600, uid: 1000, gid: 1000 },
      { path: "/dev/ttyX", type: "u", major: 4, minor: 70 },
      { path: "/run/fifo", type: "p", fileMode: 0o644 },
    ];
    const mounts = [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] }];
    const r = compile(config({ mounts, linux: { devices, resources: { devices: [{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 10, minor: 229, access: "rwm" }] } } }));
    expect(r.errors).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith("mount") || l.startsWith("device"))).toEqual([
      "mount dev /dev",
      "device node /dev/fuse c 10:229 mode=0666 uid=0 gid=0",
      "device node /dev/loop9 b 7:9 mode=0600 uid=1000 gid=1000",
      "device node /dev/ttyX c 4:70",
      "device node /run/fifo p mode=0644",
      "device default",
      "device deny c 10:229 rwm",
      "device allow c 10:229 rwm",
      "device allow b 7:9 rwm",
      "device allow c 4:70 rwm",
    ]);
    const ops = r.b.result.plan.ops;
    expect(ops.filter((o) => o.kind === "device-node")).toEqual([
      expect.objectContaining({ path: "/dev/fuse", type: "c", major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 }),
      expect.objectContaining({ path: "/dev/loop9", type: "b", major: 7, minor: 9, mode: 0o600, uid: 1000, gid: 1000 }),
      expect.objectContaining({ path: "/dev/ttyX", type: "c", major: 4, minor: 70, mode: 0o666 }),
      expect.objectContaining({ path: "/run/fifo", type: "p", mode: 0o644 }),
    ]);
    // Made after the /dev tmpfs, before the root is entered.
    const kinds = ops.map((o) => o.kind);
    expect(kinds.indexOf("mount-dev")).toBeLessThan(kinds.indexOf("device-node"));
    expect(kinds.lastIndexOf("device-node")).toBeLessThan(kinds.indexOf("enter-root"));
    // Without a device policy there is nothing to allow.
    expect(compile(config({ linux: { devices: devices.slice(0, 1) } })).lines.filter((l) => l.startsWith("device"))).toEqual(["device node /dev/fuse c 10:229 mode=0666 uid=0 gid=0"]);
    const bad = compile(config({ linux: { devices: [{ path: "dev/x", type: "c", major: 1, minor: 3 }, { path: "/dev/x", type: "z" }, { path: "/dev/y", type: "c", major: 1 }, { path: "/dev/z", type: "b", major: -1, minor: 0 }] } }));
    expect(bad.errors).toEqual([
      '/linux/devices/0/path: a device\'s path must be absolute, not "dev/x"',
      '/linux/devices/1/type: unknown device type "z"',
      "/linux/devices/2: a char device needs its `major` and `minor`",
      "/linux/devices/3/major: expected a non-negative whole number, found -1",
    ]);
    // Without a mount namespace there is no container tree to make it in.
    expect(compile(config({ linux: { namespaces: [{ type: "pid" }], devices: devices.slice(0, 1) } })).errors).toContain("/linux/devices/0: `device node` needs `ns mnt`");
  });
  test("resources.blockIO: `limit io`, the weight, each device's weight and throttles; a weight or rate of 0 asks for nothing; bad values are errors at them", () => {
    const blockIO = {
      weight: 500,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 0 }],
      leafWeight: 0,
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 50 }],
    };
    const r = compile(config({ linux: { resources: { blockIO } } }));
    expect(r.errors).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith("limit"))).toEqual(["limit io weight=500", "limit io 8:0 weight=200", "limit io 8:0 rbps=1048576", "limit io 8:0 riops=100", "limit io 254:0 wiops=50"]);
    expect(compile(config({ linux: { resources: { blockIO: { weight: 0, weightDevice: [{ major: 8, minor: 0, weight: 0 }] } } } })).lines.filter((l) => l.startsWith("limit"))).toEqual([]);
    const limits = r.b.result.plan.ops.flatMap((o) => (o.kind === "cgroup-limit" ? [o.limit] : []));
    expect(limits[0]).toEqual({ controller: "io", device: null, weight: 500, rbps: null, wbps: null, riops: null, wiops: null });
    expect(limits[2]).toEqual({ controller: "io", device: { major: 8, minor: 0 }, weight: null, rbps: 1048576, wbps: null, riops: null, wiops: null });
    const bad = compile(config({ linux: { resources: { blockIO: { weight: 5, throttleReadBpsDevice: [{ major: 8, rate: 1 }, { major: 8, minor: 0, rate: -1 }] } } } }));
    // What the host can tell before anything is made: a weight its scheduler lacks, a device it does not have.
    const facts: HostFacts = { umask: 0o022, hasSubmounts: () => false, ioWeightProblem: (device) => `no weight file${device ? " per device" : ""}`, blockDevice: (major) => major === 8 };
    const host = compile(config({ linux: { resources: { blockIO: { ...blockIO, throttleWriteBpsDevice: [] } } } }), undefined, facts);
    expect(host.errors).toEqual([
      "/linux/resources/blockIO/weight: `linux.resources.blockIO.weight` is not supported yet: a block I/O weight on this host: no weight file",
      "/linux/resources/blockIO/weightDevice/0/weight: `linux.resources.blockIO.weightDevice[0].weight` is not supported yet: a block I/O weight on this host: no weight file per device",
      "/linux/resources/blockIO/throttleWriteIOPSDevice/0: no block device 254:0 on this host",
    ]);
    expect([...bad.errors].sort()).toEqual([
      "/linux/resources/blockIO/throttleReadBpsDevice/0/minor: expected a number here",
      "/linux/resources/blockIO/throttleReadBpsDevice/1/rate: expected a non-negative whole number, found -1",
      "/linux/resources/blockIO/weight: limit io weight=5: out of range",
    ]);
  });
  test("uid and gid mappings are `map`", () => {
    const r = compile(
      config({
        linux: {
          namespaces: [{ type: "user" }, { type: "mount" }],
          uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
          gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.lines.slice(0, 3)).toEqual(["ns user, mnt", "map uid 0 100000 65536", "map gid 0 100000 65536"]);
  });
  test("any other field is an error naming it; annotations and empty values are not", () => {
    const r = compile(
      config({
        annotations: { "org.example": "x" },
        hooks: { preStart: [{ path: "/bin/true" }] },
        process: { oomScoreAdj: 100, apparmorProfile: "", terminal: true },
        linux: { seccomp: { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/notify.sock" }, cgroupsPath: "system.slice:ctr:x", resources: { blockIO: { leafWeight: 10 } } },
      }),
    );
    const named = r.errors.map((e) => /`([^`]+)` is not supported yet/.exec(e)?.[1]);
    expect(named.sort()).toEqual(["hooks.preStart", "linux.cgroupsPath", "linux.resources.blockIO.leafWeight", "linux.seccomp.listenerPath"]);
    // process.terminal is the exec op's terminal, made at enter-root (runtime/features/process/console.ts).
    const tty = compile(config({ process: { terminal: true } }));
    expect(tty.errors).toEqual([]);
    expect(tty.b.terminal).toBe(true);
    const ops = tty.b.result.plan.ops;
    expect(ops.find((o) => o.kind === "exec")).toMatchObject({ terminal: true });
    expect(ops.find((o) => o.kind === "enter-root")).toMatchObject({ console: true });
  });
  test("hooks: every kind is kept to run, with its args, env and timeout; a kind the spec does not define is refused, naming it", () => {
    const t = { path: "/bin/true" };
    const r = compile(config({ hooks: { poststart: [{ path: "/bin/sh", args: ["sh", "-c", "true"], env: ["A=1"], timeout: 5 }], poststop: [t], prestart: [t], createRuntime: [t], createContainer: [t], startContainer: [t] } }));
    expect(r.errors).toEqual([]);
    const tt = [{ path: "/bin/true", args: ["/bin/true"], env: [] }];
    expect(r.b.hooks).toEqual({ poststart: [{ path: "/bin/sh", args: ["sh", "-c", "true"], env: ["A=1"], timeout: 5 }], poststop: tt, prestart: tt, createRuntime: tt, createContainer: tt, startContainer: tt });
    const refused = compile(config({ hooks: { later: [{ path: "/bin/true" }] } }));
    expect(refused.errors.map((e) => /`([^`]+)` is not supported yet/.exec(e)?.[1])).toEqual(["hooks.later"]);
    expect(refused.errors[0]).toContain("a hook kind the runtime spec does not define");
    const bad = compile(config({ hooks: { poststop: [{ path: "true" }, { path: "/bin/true", timeout: 0 }, { path: "/bin/true", args: [1] }, { path: "/bin/true", when: "x" }] } }));
    expect(bad.errors).toEqual([
      "/hooks/poststop/0/path: a hook's path must be absolute, not \"true\"",
      "/hooks/poststop/1/timeout: a hook's timeout must be greater than zero",
      "/hooks/poststop/2/args/0: expected a string here",
      "/hooks/poststop/3/when: `hooks.poststop[3].when` is not supported yet",
    ]);
  });

  test("item 2's fields ctr cannot honour are refused, naming them, never ignored", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ linux: { rootfsPropagation: "rslave" } }, "linux.rootfsPropagation"],
      [{ linux: { resources: { blockIO: { weight: 10, leafWeight: 10 } } } }, "linux.resources.blockIO.leafWeight"],
      [{ linux: { resources: { blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 10 }] } } } }, "linux.resources.blockIO.weightDevice[0].leafWeight"],
      [{ linux: { resources: { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1, weight: 5 }] } } } }, "linux.resources.blockIO.throttleReadBpsDevice[0].weight"],
      [{ linux: { devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, flags: 1 }] } }, "linux.devices[0].flags"],
      [{ linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "time", path: "/proc/1/ns/time" }] } }, "linux.namespaces[2].path"],
      [{ linux: { namespaces: [{ type: "user", path: "/proc/1/ns/user" }, { type: "mount" }], uidMappings: [{ containerID: 0, hostID: 0, size: 1 }] } }, "linux.uidMappings"],
      [{ linux: { resources: { memory: { limit: 67108864, reservation: 1024 } } } }, "linux.resources.memory.reservation"],
      [{ linux: { resources: { cpu: { realtimeRuntime: 10 } } } }, "linux.resources.cpu.realtimeRuntime"],
    ];
    for (const [extra, name] of cases) {
      const r = compile(config(extra));
      expect(r.errors.map((e) => /`([^`]+)` is not supported yet/.exec(e)?.[1])).toEqual([name]);
    }
    // rootfsPropagation: private and rprivate are what ctr does; the others refused (above).
    for (const prop of ["private", "rprivate"]) expect(compile(config({ linux: { rootfsPropagation: prop } })).errors).toEqual([]);
    // process.oomScoreAdj is kept for the supervisor (no statement says it); out of range is an error at it.
    expect(compile(config({ process: { oomScoreAdj: -500 } })).b.oomScoreAdj).toBe(-500);
    expect(compile(config({ process: { oomScoreAdj: 1001 } })).errors).toEqual(["/process/oomScoreAdj: oomScoreAdj 1001 is not a whole number from -1000 to 1000"]);
    // Mount propagation other than private: refused at the option.
    for (const opt of ["shared", "rshared", "slave", "rslave", "unbindable"]) {
      const r = compile(config({ mounts: [{ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: [opt] }] }));
      expect(r.errors).toEqual([`/mounts/0/options/0: mount option "${opt}" is not supported yet for tmpfs: ctr's tmpfs takes size=, mode= and nosuid, nodev, noexec, ro, strictatime`]);
    }
  });

  test("podman's cgroup fields: the cgroupfs cgroupsPath is the placement, the cgroup mount `mount cgroup`; the systemd form and bad paths are refused", () => {
    const mounts = [{ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"] }];
    const r = compile(config({ mounts, linux: { cgroupsPath: "/libpod_parent//libpod-x/" } }));
    expect(r.errors).toEqual([]);
    expect(r.b.cgroupsPath).toBe("/libpod_parent/libpod-x");
    expect(r.lines).toContain("mount cgroup /sys/fs/cgroup nosuid noexec nodev ro");
    const op = r.b.result.plan.ops.find((o) => o.kind === "mount-cgroup");
    expect(op?.kind === "mount-cgroup" && [op.target, op.ro]).toEqual(["/sys/fs/cgroup", true]);
    expect(compile(config({ linux: { cgroupsPath: "ctr-1" } })).b.cgroupsPath).toBe("ctr-1");
    expect(compile(config({ linux: { cgroupsPath: "machine.slice:libpod:abc" } })).errors).toEqual([
      expect.stringMatching(/^\/linux\/cgroupsPath: `linux\.cgroupsPath` is not supported yet: the systemd form "slice:prefix:name" \("machine\.slice:libpod:abc"\): ctr makes cgroups through the cgroup filesystem/),
    ]);
    for (const bad of ["/a/../b", "/", "./x"]) expect(compile(config({ linux: { cgroupsPath: bad } })).errors).toEqual([expect.stringMatching(/^\/linux\/cgroupsPath: cgroupsPath "[^"]*" does not name a cgroup below a hierarchy's root/)]);
  });
  test("linux.sysctl is `sysctl KEY=VALUE...`, checked by its statement", () => {
    const r = compile(config({ linux: { namespaces: [{ type: "mount" }, { type: "uts" }, { type: "network" }], sysctl: { "kernel.domainname": "d", "net.ipv4.ip_forward": "1" } } }));
    expect(r.errors).toEqual([]);
    expect(r.lines).toContain("sysctl kernel.domainname=d net.ipv4.ip_forward=1");
    const host = compile(config({ linux: { sysctl: { "net.ipv4.ip_forward": "1" } } }));
    expect(host.errors).toEqual([expect.stringMatching(/^\/linux\/sysctl\/net\.ipv4\.ip_forward: `sysctl net\.ipv4\.ip_forward` needs `ns net`/)]);
  });
  test("linux.seccomp is the profile's op, just before the root is entered for the command; its errors point into it", () => {
    const seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }] };
    const r = compile(config({ linux: { seccomp } }));
    expect(r.errors).toEqual([]);
    const ops = r.b.result.plan.ops;
    const i = ops.findIndex((op) => op.kind === "seccomp");
    expect(ops[i + 1]?.kind).toBe("enter-root");
    expect(ops[i + 2]?.kind).toBe("exec");
    const op = ops[i] as { profile: { defaultAction: string; defaultErrnoRet?: number; rules: { names: string[] }[] } };
    expect(op.profile.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(op.profile.defaultErrnoRet).toBe(38);
    expect(op.profile.rules[0]!.names).toEqual(["read", "write"]);
    const bad = compile(config({ linux: { seccomp: { ...seccomp, syscalls: [{ names: ["read", "no_such_call"], action: "SCMP_ACT_ALLOW" }] } } }));
    expect(bad.errors).toEqual(['/linux/seccomp/syscalls/0/names/1: seccomp: unknown system call "no_such_call"']);
  });
  test("bad shapes are errors at their place", () => {
    const r = compile({ ociVersion: "2.0.0", root: { path: 3 }, process: { args: [], cwd: "/" }, linux: { namespaces: "pid" } });
    expect(r.errors).toEqual([
      "/ociVersion: ociVersion \"2.0.0\" is not a 1.x version",
      "/root/path: expected a string here",
      "/process/args: `process.args` needs at least one element: the command",
      "/process/cwd: `cwd` acts on a container, but no `ns` statement comes before it",
      "/linux/namespaces: expected an array here",
    ]);
  });
});
