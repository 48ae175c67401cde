// The parts of issue 15 that need no root: names, the process spec `ctr exec`
// applies, the order in which the exec stage joins a container (through the
// seam's recording double), and telling a process from a later one with its PID.

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { joinContainer } from "../../runtime/features/lifecycle/enter.ts";
import { generateName, nameProblem } from "../../runtime/features/lifecycle/names.ts";
import { processRef, sameProcess, startTime } from "../../runtime/features/lifecycle/procstat.ts";
import { execDefaults } from "../../runtime/features/lifecycle/supervise.ts";
import type { Op } from "../../runtime/ops.ts";

describe("names", () => {
  test("valid names, and those refused", () => {
    for (const ok of ["web", "a", "db-1", "x_y.z", "A9"]) expect(nameProblem(ok)).toBeNull();
    for (const bad of ["", "-a", ".a", "a/b", "a b", "ctr-abc-123", "monitor.sock", "monitor.log", "x".repeat(64)]) expect(nameProblem(bad)).not.toBeNull();
  });
  test("generated names are valid", () => {
    for (let i = 0; i < 50; i++) expect(nameProblem(generateName())).toBeNull();
  });
});

describe("the process spec of ctr exec", () => {
  const op = (body: object) => ({ side: "pid1", span: { line: 1, column: 1 }, source: "", explain: [], ...body }) as unknown as Op;
  test("env, cwd, rlimit and no_new_privs up to exec; later ones do not count", () => {
    const d = execDefaults([op({ kind: "env", vars: { A: "1" } }), op({ kind: "cwd", dir: "/tmp" }), op({ kind: "rlimit", name: "nofile", soft: "10", hard: "20" }), op({ kind: "rlimit", name: "nofile", soft: "5", hard: "20" }), op({ kind: "no-new-privs" }), op({ kind: "exec", argv: ["sh"] }), op({ kind: "env", vars: { B: "2" } })]);
    expect(d).toEqual({ env: { PATH: expect.any(String), HOME: "/root", A: "1" }, cwd: "/tmp", rlimits: [{ name: "nofile", soft: "5", hard: "20" }], noNewPrivs: true });
  });
  test("cap, seccomp and user up to exec, the image's User unless a `user` came first", () => {
    const profile = { source: "default", defaultAction: "SCMP_ACT_ERRNO", archs: [], rules: [] };
    const image = (user: object) => op({ kind: "rootfs", dir: "/r", mode: "pivot", overlay: null, initFiles: null, image: { user } });
    const d = execDefaults([op({ kind: "cap", form: "drop", caps: ["all"] }), op({ kind: "cap", form: "add", caps: ["CAP_KILL"] }), op({ kind: "seccomp", profile }), image({ user: "nobody" }), op({ kind: "exec", argv: ["sh"] }), op({ kind: "user", user: { user: "0" } })]);
    expect({ caps: d.caps, seccomp: d.seccomp, user: d.user }).toEqual({ caps: { keep: ["CAP_KILL"], added: ["CAP_KILL"] }, seccomp: profile, user: { user: "nobody" } });
    expect(execDefaults([op({ kind: "user", user: { user: "1000" } }), image({ user: "nobody" })]).user).toEqual({ user: "1000" });
    expect(execDefaults([op({ kind: "seccomp", profile }), op({ kind: "seccomp", profile: null })]).seccomp).toBeNull();
  });
});

describe("joining a container", () => {
  test("the user namespace first, then the others in order, then the root by its descriptor", () => {
    const sys = new RecordingSys();
    const seen: string[] = [];
    joinContainer(sys, [{ ns: "user", fd: 10 }, { ns: "mnt", fd: 11 }, { ns: "uts", fd: 12 }, { ns: "pid", fd: 13 }], 14, () => seen.push(`after user: ${sys.calls.length}`));
    expect(sys.calls.map((c) => c.call)).toEqual(["setns(10, CLONE_NEWUSER)", "setns(11, CLONE_NEWNS)", "setns(12, CLONE_NEWUTS)", "setns(13, CLONE_NEWPID)", "fchdir(14)", 'chroot(".")', 'chdir("/")']);
    expect(seen).toEqual(["after user: 1"]);
  });
  test("a failing setns stops there", () => {
    const sys = new RecordingSys();
    sys.fail("setns", "EPERM");
    expect(() => joinContainer(sys, [{ ns: "mnt", fd: 11 }], 14)).toThrow();
    expect(sys.calls.map((c) => c.name)).toEqual(["setns"]);
  });
});

describe("start times", () => {
  test("this process is itself; a wrong start time or a missing PID is not", () => {
    const me = processRef(process.pid)!;
    expect(me.start).toBe(startTime(process.pid)!);
    expect(sameProcess(me)).toBe(true);
    expect(sameProcess({ pid: process.pid, start: me.start + 1 })).toBe(false);
    expect(startTime(0)).toBeNull();
    expect(sameProcess({ pid: 2 ** 22 + 7, start: 1 })).toBe(false);
  });
});

describe("the shared monitor's link (monitor-link.ts)", () => {
  test("JSON lines each way, split or joined by the socket as it likes; the peer's close is told apart from no message yet", async () => {
    const { MonitorLink } = await import("../../runtime/features/lifecycle/monitor-link.ts");
    const n = await import("../../native/index.ts");
    const [a, b] = n.socketpair();
    const link = new MonitorLink(a);
    try {
      expect(link.next(0)).toBeNull();
      link.send({ t: "spawn", name: "x" });
      const got = new Uint8Array(256);
      expect(new TextDecoder().decode(got.subarray(0, n.recv(b, got)))).toBe('{"t":"spawn","name":"x"}\n');
      // two messages in one write, then one in two writes
      n.write(b, '{"t":"spawned","pid":7}\n{"t":"exi');
      expect(link.next(1000)).toEqual({ t: "spawned", pid: 7 });
      expect(link.next(0)).toBeNull();
      n.write(b, 'ted","code":3}\n');
      expect(link.reply(1000)).toEqual({ t: "exited", code: 3 });
      n.close(b);
      expect(link.next(1000)).toBe("closed");
      expect(link.reply(1000)).toBe("closed");
    } finally {
      link.close();
    }
  });
});
