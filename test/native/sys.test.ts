// Real calls through koffi. Calls that would change the test runner (namespaces, mounts,
// hostname, capabilities, exec) run in a child `bun -e` process (see helpers.ts).

import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, mkdtempSync, rmSync, writeFileSync, readlinkSync, symlinkSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import * as n from "../../native/index.ts";
import { childJson, rootTest, runChild, NATIVE } from "./helpers.ts";

afterEach(() => n.setTrace(null));

function statusField(name: string, pid: number | "self" = "self"): string {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(name + ":"));
  return (line ?? "").split(":")[1]!.trim();
}

describe("errors", () => {
  test("chdir to a missing directory throws SysError ENOENT", () => {
    let err: unknown;
    try {
      n.chdir("/nonexistent");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(n.SysError);
    const e = err as n.SysError;
    expect(e.code).toBe("ENOENT");
    expect(e.errno).toBe(2);
    expect(e.syscall).toBe("chdir");
    expect(e.args).toEqual(["/nonexistent"]);
    expect(e.message).toBe('chdir("/nonexistent"): ENOENT (no such file or directory)');
  });

  test("errno is read reliably across many failing calls", () => {
    for (let i = 0; i < 2000; i++) {
      try {
        n.close(-1);
        throw new Error("close(-1) succeeded");
      } catch (e) {
        expect((e as n.SysError).code).toBe("EBADF");
      }
    }
  });

  test("execve failures are distinguishable (ENOENT, EACCES)", () => {
    expect(() => n.execve("/nonexistent/prog", ["prog"], [])).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "execve" }));
    const dir = mkdtempSync(join(tmpdir(), "ctr-native-"));
    try {
      const f = join(dir, "not-executable");
      writeFileSync(f, "#!/bin/sh\n", { mode: 0o644 });
      expect(() => n.execve(f, ["x"], [])).toThrow(expect.objectContaining({ code: "EACCES" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  rootTest("mount of an unknown filesystem type gives ENODEV (in a child, own mount ns)", () => {
    const r = childJson(`
      n.unshare(n.CLONE_NEWNS);
      n.mount(null, "/", null, n.MS_REC | n.MS_PRIVATE, null);
      try { n.mount("none", "/tmp", "ctr-no-such-fs", 0, null); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall, message: e.message })); }
    `);
    expect(r).toEqual({
      code: "ENODEV",
      syscall: "mount",
      message: 'mount("none", "/tmp", "ctr-no-such-fs", 0): ENODEV (no such device)',
    });
  });
});

describe("file descriptors", () => {
  test("pipe2 / write / read round trip, cloexec", () => {
    const [r, w] = n.pipe2(n.O_CLOEXEC);
    try {
      expect(n.getCloexec(r)).toBe(true);
      expect(n.write(w, "héllo")).toBe(6);
      const buf = new Uint8Array(64);
      const k = n.read(r, buf.subarray(10));
      expect(k).toBe(6);
      expect(new TextDecoder().decode(buf.subarray(10, 16))).toBe("héllo");
      n.setCloexec(r, false);
      expect(n.getCloexec(r)).toBe(false);
      n.close(w);
      expect(n.read(r, buf)).toBe(0); // EOF
    } finally {
      n.close(r);
      try {
        n.close(w);
      } catch {}
    }
  });

  test("socketpair round trip both ways", () => {
    const [a, b] = n.socketpair();
    try {
      expect(n.getCloexec(a)).toBe(true);
      n.write(a, new Uint8Array([1, 2, 3]));
      const buf = new Uint8Array(8);
      expect(n.read(b, buf)).toBe(3);
      expect([...buf.subarray(0, 3)]).toEqual([1, 2, 3]);
      n.write(b, "pong");
      expect(n.read(a, buf)).toBe(4);
      expect(new TextDecoder().decode(buf.subarray(0, 4))).toBe("pong");
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  test("flock: a second open file cannot take an exclusive lock held by the first; the lock goes with its last fd", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-native-"));
    try {
      const a = n.open(join(dir, "lock"), n.O_RDWR | n.O_CREAT | n.O_CLOEXEC, 0o600);
      const b = n.open(join(dir, "lock"), n.O_RDWR | n.O_CLOEXEC);
      n.flock(a, n.LOCK_EX | n.LOCK_NB);
      expect(() => n.flock(b, n.LOCK_EX | n.LOCK_NB)).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "flock" }));
      const a2 = n.dup3(a, 210, n.O_CLOEXEC);
      n.close(a); // a2 shares a's open file, and its lock
      expect(() => n.flock(b, n.LOCK_EX | n.LOCK_NB)).toThrow(expect.objectContaining({ code: "EAGAIN" }));
      n.close(a2);
      n.flock(b, n.LOCK_EX | n.LOCK_NB);
      n.flock(b, n.LOCK_UN);
      n.close(b);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("open / dup2 / dup3 / fcntl", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-native-"));
    try {
      const fd = n.open(join(dir, "f"), n.O_WRONLY | n.O_CREAT | n.O_CLOEXEC, 0o640);
      n.write(fd, "abc");
      const fd2 = n.dup3(fd, 200, n.O_CLOEXEC);
      expect(fd2).toBe(200);
      expect(n.getCloexec(200)).toBe(true);
      expect(n.dup2(fd, 201)).toBe(201);
      expect(n.getCloexec(201)).toBe(false);
      expect(readlinkSync("/proc/self/fd/201")).toBe(join(dir, "f"));
      for (const f of [fd, 200, 201]) n.close(f);
      expect(readFileSync(join(dir, "f"), "utf8")).toBe("abc");
      expect(() => n.open(join(dir, "missing"), n.O_RDONLY)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "open" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("openat / mkdirat / statx / readDirFd / unlinkat from a directory fd; O_NOFOLLOW and AT_SYMLINK_NOFOLLOW stop at a symlink", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-native-"));
    try {
      const d = n.openat(n.AT_FDCWD, dir, n.O_RDONLY | n.O_DIRECTORY | n.O_CLOEXEC);
      n.mkdirat(d, "sub", 0o700);
      const f = n.openat(d, "file", n.O_WRONLY | n.O_CREAT | n.O_EXCL | n.O_CLOEXEC, 0o600);
      n.write(f, "hello");
      n.fchmod(f, 0o640);
      const st = n.fstat(f);
      n.close(f);
      expect([st.mode & n.S_IFMT, st.mode & 0o7777, st.uid, st.size]).toEqual([n.S_IFREG, 0o640, process.getuid!(), 5n]);
      expect(n.statx(d, "file").ino).toBe(st.ino);
      symlinkSync(join(dir, "sub"), join(dir, "link"));
      expect(n.statx(d, "link", n.AT_SYMLINK_NOFOLLOW).mode & n.S_IFMT).toBe(n.S_IFLNK);
      expect(n.statx(d, "link").mode & n.S_IFMT).toBe(n.S_IFDIR); // followed without the flag
      expect(() => n.openat(d, "link", n.O_RDONLY | n.O_DIRECTORY | n.O_NOFOLLOW)).toThrow(expect.objectContaining({ syscall: "openat" }));
      expect(n.readDirFd(d).map((e) => e.name).sort()).toEqual(["file", "link", "sub"]);
      n.unlinkat(d, "link"); // the symlink itself: sub stays
      n.unlinkat(d, "file");
      expect(() => n.unlinkat(d, "sub")).toThrow(expect.objectContaining({ code: "EISDIR" }));
      n.unlinkat(d, "sub", n.AT_REMOVEDIR);
      const again = n.openat(n.AT_FDCWD, dir, n.O_RDONLY | n.O_DIRECTORY | n.O_CLOEXEC);
      expect(n.readDirFd(again)).toEqual([]);
      n.close(again);
      n.close(d);
      expect(n.formatCall("unlinkat", [n.AT_FDCWD, "x", n.AT_REMOVEDIR])).toBe('unlinkat(AT_FDCWD, "x", AT_REMOVEDIR)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("isatty is false on a pipe and never throws", () => {
    const [r, w] = n.pipe2(n.O_CLOEXEC);
    expect(n.isatty(r)).toBe(false);
    expect(n.isatty(-1)).toBe(false);
    n.close(r);
    n.close(w);
  });
});

describe("process", () => {
  test("ids match what Bun and /proc say", () => {
    expect(n.getpid()).toBe(process.pid);
    expect(n.getppid()).toBe(process.ppid);
    expect(n.getuid()).toBe(process.getuid!());
    expect(n.geteuid()).toBe(process.geteuid!());
    expect(n.getgid()).toBe(process.getgid!());
    expect(n.getegid()).toBe(process.getegid!());
    expect(n.gettid()).toBe(process.pid); // the JS thread is the main thread
    expect(n.getpgid(0)).toBe(Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[2]));
  });

  test("waitpid decodes exit codes and signals", () => {
    // In a child: Bun reaps its own spawned processes, so once we reap one there,
    // Bun's `exited` promise would reject; the child just prints and exits.
    const r = childJson(`
      const a = Bun.spawn(["sh", "-c", "exit 3"]);
      const ra = n.waitpid(a.pid);
      const b = Bun.spawn(["sleep", "10"]);
      const none = n.waitpid(b.pid, n.WNOHANG);
      n.kill(b.pid, n.SIGKILL);
      const rb = n.waitpid(b.pid);
      const c = Bun.spawn(["true"]);
      for (let i = 0; i < 1000; i++) {
        const st = require("node:fs").readFileSync("/proc/" + c.pid + "/stat", "utf8");
        if (st.split(") ")[1].startsWith("Z")) break;
        Bun.sleepSync(1);
      }
      const z = n.zombieChild();
      const rc = n.waitpid(c.pid);
      let none2; try { n.waitpid(-1, n.WNOHANG); } catch (e) { none2 = e.code; }
      console.log(JSON.stringify({ ra, aPid: a.pid, none, rb, z, cPid: c.pid, rc, none2, zNone: n.zombieChild() }));
      process.exit(0);
    `);
    expect(r.ra).toMatchObject({ pid: r.aPid, exited: true, exitCode: 3, signaled: false, signal: null });
    expect(r.none).toMatchObject({ pid: 0, exited: false, signaled: false });
    expect(r.rb).toMatchObject({ exited: false, exitCode: null, signaled: true, signal: 9 });
    expect(r.z).toBe(r.cPid);
    expect(r.rc).toMatchObject({ pid: r.cPid, exited: true, exitCode: 0 });
    expect(r.none2).toBe("ECHILD");
    expect(r.zNone).toBe(0);
  });

  test("getrlimit / setrlimit round trip (in a child)", () => {
    const r = childJson(`
      const before = n.getrlimit(n.RLIMIT_NOFILE);
      n.setrlimit(n.RLIMIT_NOFILE, 64, before.hard);
      const after = n.getrlimit(n.RLIMIT_NOFILE);
      n.setrlimit(n.RLIMIT_CORE, 0, 0);
      const stack = n.getrlimit(n.RLIMIT_STACK);
      const limits = require("node:fs").readFileSync("/proc/self/limits", "utf8");
      console.log(JSON.stringify({ soft: String(after.soft), hard: String(after.hard), beforeHard: String(before.hard),
        line: limits.split("\\n").find((l) => l.startsWith("Max open files")), stackType: typeof stack.hard }));
    `);
    expect(r.soft).toBe("64");
    expect(r.hard).toBe(r.beforeHard);
    expect(r.line).toMatch(/^Max open files\s+64\s/);
    expect(r.stackType).toBe("bigint");
  });

  test("umask returns the previous mask", () => {
    const old = n.umask(0o077);
    expect(n.umask(old)).toBe(0o077);
  });

  test("prctl: thread name, no_new_privs, pdeathsig, subreaper (in a child)", () => {
    const r = childJson(`
      n.setName("ctr-test-name-long");
      const name = n.getName();
      const comm = require("node:fs").readFileSync("/proc/thread-self/comm", "utf8").trim();
      const nnpBefore = n.getNoNewPrivs();
      n.setNoNewPrivs();
      n.setPdeathsig(n.SIGKILL);
      const pdeath = (() => { const b = new Uint8Array(4); n.prctl(n.PR_GET_PDEATHSIG, b); return new Int32Array(b.buffer)[0]; })();
      n.setChildSubreaper(true);
      const sub = (() => { const b = new Uint8Array(4); n.prctl(n.PR_GET_CHILD_SUBREAPER, b); return new Int32Array(b.buffer)[0]; })();
      console.log(JSON.stringify({ name, comm, nnpBefore, nnp: n.getNoNewPrivs(), pdeath, sub }));
    `);
    expect(r).toEqual({ name: "ctr-test-name-l", comm: "ctr-test-name-l", nnpBefore: false, nnp: true, pdeath: 9, sub: 1 });
  });
});

describe("capabilities", () => {
  rootTest("capget returns the full set as root (as /proc/self/status says)", () => {
    const caps = n.capget();
    expect(caps.effective).toBe(BigInt("0x" + statusField("CapEff")));
    expect(caps.permitted).toBe(BigInt("0x" + statusField("CapPrm")));
    expect(caps.inheritable).toBe(BigInt("0x" + statusField("CapInh")));
    // root holds every capability its bounding set allows
    expect(caps.effective).toBe(BigInt("0x" + statusField("CapBnd")));
    expect(caps.effective & n.capMask([n.CAP_SYS_ADMIN])).not.toBe(0n);
  });

  rootTest("capset, bounding set drop and ambient clear (in a child)", () => {
    const r = childJson(`
      const before = n.capget();
      n.capBsetDrop(n.CAP_SYS_BOOT);
      const bsetBoot = n.capBsetRead(n.CAP_SYS_BOOT);
      n.capAmbientClearAll();
      const keep = before.permitted & ~n.capMask([n.CAP_NET_RAW]);
      n.capset({ effective: keep & ~n.capMask([n.CAP_CHOWN]), permitted: keep, inheritable: 0n });
      const after = n.capget();
      let denied = "";
      try { n.capset({ ...after, permitted: before.permitted }); } catch (e) { denied = e.code; }
      const st = require("node:fs").readFileSync("/proc/self/status", "utf8");
      console.log(JSON.stringify({ bsetBoot, eff: String(after.effective), prm: String(after.permitted),
        want: String(keep), wantEff: String(keep & ~n.capMask([n.CAP_CHOWN])), denied,
        capBnd: st.match(/CapBnd:\\s+(\\w+)/)[1], capAmb: st.match(/CapAmb:\\s+(\\w+)/)[1] }));
    `);
    expect(r.bsetBoot).toBe(false);
    expect(r.prm).toBe(r.want);
    expect(r.eff).toBe(r.wantEff);
    expect(r.denied).toBe("EPERM"); // permitted can't grow back
    expect(BigInt("0x" + r.capBnd) & (1n << BigInt(n.CAP_SYS_BOOT))).toBe(0n);
    expect(r.capAmb).toBe("0000000000000000");
  });
});

describe("namespaces (in children)", () => {
  rootTest("unshare(CLONE_NEWUTS) + sethostname changes only the child", () => {
    const host = hostname();
    const r = childJson(`
      n.unshare(n.CLONE_NEWUTS);
      n.sethostname("ctr-x");
      n.setdomainname("ctr-domain");
      console.log(JSON.stringify({ h: n.gethostname(), d: n.getdomainname() }));
    `);
    expect(r).toEqual({ h: "ctr-x", d: "ctr-domain" });
    expect(hostname()).toBe(host);
    expect(n.gethostname()).toBe(host);
  });

  rootTest("sethostname without CAP_SYS_ADMIN fails with EPERM", () => {
    const r = childJson(`
      n.capset({ effective: 0n, permitted: 0n, inheritable: 0n });
      try { n.sethostname("nope"); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    `);
    expect(r).toEqual({ code: "EPERM", message: 'sethostname("nope", 4): EPERM (operation not permitted)' });
  });

  rootTest("setns joins another process's UTS namespace", () => {
    const r = childJson(`
      const fd = n.open("/proc/self/ns/uts", n.O_RDONLY | n.O_CLOEXEC);
      n.unshare(n.CLONE_NEWUTS);
      n.sethostname("inside");
      const inside = n.gethostname();
      n.setns(fd, n.CLONE_NEWUTS);
      n.close(fd);
      console.log(JSON.stringify({ inside, back: n.gethostname() }));
    `);
    expect(r.inside).toBe("inside");
    expect(r.back).toBe(hostname());
  });

  rootTest("mount namespace: tmpfs, mknod, umount2, pivot_root, chroot", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-native-root-"));
    let r: any;
    try {
      r = childJson(`
      const fs = require("node:fs");
      n.unshare(n.CLONE_NEWNS);
      n.mount(null, "/", null, n.MS_REC | n.MS_PRIVATE, null);
      const root = ${JSON.stringify(dir)};
      n.mount("tmpfs", root, "tmpfs", n.MS_NOSUID, "mode=755,size=1m");
      const mounted = fs.readFileSync("/proc/self/mounts", "utf8").includes(" " + root + " tmpfs ");
      fs.mkdirSync(root + "/dev"); fs.mkdirSync(root + "/old"); fs.mkdirSync(root + "/bin");
      n.mknod(root + "/dev/null", n.S_IFCHR | 0o666, n.makedev(1, 3));
      const st = fs.statSync(root + "/dev/null");
      fs.writeFileSync(root + "/marker", "in the new root");
      n.chdir(root);
      n.pivotRoot(".", "old");
      n.chdir("/");
      const marker = fs.readFileSync("/marker", "utf8");
      n.umount2("/old", n.MNT_DETACH);
      const oldEmpty = fs.readdirSync("/old").length === 0;
      let chrootErr = "";
      try { n.chroot("/nonexistent"); } catch (e) { chrootErr = e.code; }
      n.chroot("/dev");
      const afterChroot = fs.readdirSync("/");
      console.log(JSON.stringify({ mounted, isChr: st.isCharacterDevice(), rdev: st.rdev, marker, oldEmpty, chrootErr, afterChroot }));
    `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(r).toEqual({
      mounted: true,
      isChr: true,
      rdev: 0x103,
      marker: "in the new root",
      oldEmpty: true,
      chrootErr: "ENOENT",
      afterChroot: ["null"],
    });
    // the host never saw the tmpfs
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain("ctr-native-root-");
  });

  rootTest("a fresh single-threaded bundled Bun can unshare a user namespace", async () => {
    // docs/ARCHITECTURE.md, "One thread for a user namespace": loading koffi through native/ must not start threads.
    const dir = mkdtempSync(join(import.meta.dir, ".tmp-"));
    try {
      const entry = join(dir, "entry.ts");
      writeFileSync(entry, `
        import { readdirSync } from "node:fs";
        import * as n from ${JSON.stringify(NATIVE)};
        n.getpid();
        const threads = readdirSync("/proc/self/task").length;
        n.unshare(n.CLONE_NEWUSER | n.CLONE_NEWUTS);
        n.sethostname("userns");
        console.log(JSON.stringify({ threads, uid: n.getuid(), host: n.gethostname() }));
      `);
      const built = await Bun.build({ entrypoints: [entry], outdir: dir, target: "bun" });
      expect(built.success).toBe(true);
      const p = Bun.spawnSync({
        cmd: [process.execPath, join(dir, "entry.js")],
        env: { ...process.env, BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_useWarmUpMarkedBlocks: "0", MIMALLOC_PURGE_DELAY: "-1" },
      });
      expect(p.stderr.toString()).toBe("");
      expect(JSON.parse(p.stdout.toString())).toEqual({ threads: 1, uid: 65534, host: "userns" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("execve (in a child)", () => {
  test("replaces the process: argv, envp and exit code", () => {
    const r = runChild(`n.execve("/bin/sh", ["sh", "-c", 'echo "$0|$A|$#"; exit 7', "arg0"], ["A=b c"]);`);
    expect(r.stdout).toBe("arg0|b c|0\n");
    expect(r.code).toBe(7);
  });

  test("the trace hook sees execve before it happens", () => {
    const r = runChild(`
      n.setTrace((e) => require("node:fs").writeSync(1, n.formatTraceEvent(e).replace(/ <.*/, "") + "\\n"));
      n.execve("/bin/true", ["true"], []);
    `);
    expect(r.stdout).toBe('execve("/bin/true", ["true"], []) = ?\n');
    expect(r.code).toBe(0);
  });
});

describe("trace hook", () => {
  test("reports each call with its fields; null turns it off", () => {
    const events: n.TraceEvent[] = [];
    n.setTrace((e) => events.push(e));
    const pid = n.getpid();
    expect(() => n.chdir("/nonexistent")).toThrow(n.SysError);
    const [r, w] = n.pipe2(n.O_CLOEXEC);
    n.close(r);
    n.close(w);
    n.setTrace(null);
    n.getpid();
    expect(events.map((e) => e.syscall)).toEqual(["getpid", "chdir", "pipe2", "close", "close"]);
    expect(events[0]).toMatchObject({ syscall: "getpid", args: [], result: pid });
    expect(events[0]!.errno).toBeUndefined();
    expect(events[1]).toMatchObject({ syscall: "chdir", args: ["/nonexistent"], result: -1, errno: "ENOENT" });
    expect(events[2]).toMatchObject({ syscall: "pipe2", args: [n.O_CLOEXEC], result: `[${r}, ${w}]` });
    for (const e of events) expect(e.ms).toBeGreaterThanOrEqual(0);
    expect(n.formatTraceEvent(events[1]!)).toMatch(/^chdir\("\/nonexistent"\) = -1 ENOENT \(no such file or directory\) <\d+\.\d{3} ms>$/);
    expect(n.formatCall(events[2]!.syscall, events[2]!.args)).toBe("pipe2(O_CLOEXEC)");
  });

  test("a throwing tracer does not change the call's outcome", () => {
    n.setTrace(() => {
      throw new Error("broken tracer");
    });
    expect(n.getpid()).toBe(process.pid);
    expect(() => n.chdir("/nonexistent")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  test("tracing off costs about nothing", () => {
    n.getpid();
    const N = 20000;
    let t = performance.now();
    for (let i = 0; i < N; i++) n.getpid();
    const off = (performance.now() - t) / N;
    n.setTrace(() => {});
    t = performance.now();
    for (let i = 0; i < N; i++) n.getpid();
    const on = (performance.now() - t) / N;
    n.setTrace(null);
    console.log(`getpid(): ${(off * 1000).toFixed(2)} µs/call untraced, ${(on * 1000).toFixed(2)} µs traced`);
    expect(off).toBeLessThan(0.05); // 50 µs: a generous bound for a loaded CI machine
  });
});

describe("loading", () => {
  test("importing native/ and formatting does not load koffi; the first call does", () => {
    const r = childJson(`
      const before = n.isLoaded();
      n.formatCall("mount", [null, "/", null, n.MS_REC | n.MS_PRIVATE, null]);
      new n.SysError({ message: "x" });
      const stillNot = n.isLoaded();
      const t = performance.now();
      n.getpid();
      const ms = performance.now() - t;
      console.log(JSON.stringify({ before, stillNot, after: n.isLoaded(), ms }));
    `);
    expect(r).toMatchObject({ before: false, stillNot: false, after: true });
  });

  test("preload declares everything without error", () => {
    n.preload();
    expect(n.isLoaded()).toBe(true);
  });
});

describe("seccomp (in a child)", () => {
  test("an allow-all filter installs after no_new_privs", () => {
    const r = childJson(`
      // BPF_RET|BPF_K, SECCOMP_RET_ALLOW
      const f = new Uint8Array(8); const v = new DataView(f.buffer);
      v.setUint16(0, 0x06, true); v.setUint32(4, n.SECCOMP_RET_ALLOW, true);
      let bad = ""; try { n.seccompSetFilter(new Uint8Array(3)); } catch (e) { bad = e.code; }
      n.setNoNewPrivs();
      n.seccompSetFilter(f);
      const st = require("node:fs").readFileSync("/proc/self/status", "utf8");
      console.log(JSON.stringify({ bad, mode: st.match(/Seccomp:\\s+(\\d)/)[1] }));
    `);
    expect(r).toEqual({ bad: "EINVAL", mode: "2" });
  });
});


