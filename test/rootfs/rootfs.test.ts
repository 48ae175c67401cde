/**
 * runtime/features/rootfs/build.ts, rootfs-root.ts and rootfs-cache.ts: host rootfs layout and safety,
 * chroot smoke tests (as root), busybox rootfs, and the default rootfs cache (reuse,
 * invalidation, atomic and concurrent builds, garbage collection). Every test works below
 * one temporary parent, which must be gone at the end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readElf, readElfIdent, systemLibraryDirs } from "../../runtime/features/rootfs/elf.ts";
import {
  RootfsError,
  buildBusyboxRootfs,
  buildHostRootfs,
  findBusybox,
  findExecutable,
  resolveInRoot,
} from "../../runtime/features/rootfs/build.ts";
import { checkDefaultRootfs, defaultCacheDir, defaultRootfs } from "../../runtime/features/rootfs/cache.ts";
import { makeElf } from "./elf-fixture.ts";

const isRoot = process.getuid?.() === 0;
const hasChroot = findExecutable("chroot", "/usr/sbin:/usr/bin:/sbin:/bin") !== null;
const hasUnshare = findExecutable("unshare", "/usr/sbin:/usr/bin:/sbin:/bin") !== null;
const tmpParent = mkdtempSync(join(tmpdir(), "ctr-rootfs-test-"));
const mountinfoBefore = readFileSync("/proc/self/mountinfo", "utf8");

afterAll(() => {
  rmSync(tmpParent, { recursive: true, force: true });
  expect(existsSync(tmpParent)).toBe(false);
  // The smoke tests mounted /proc only inside private mount namespaces.
  expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(mountinfoBefore);
});

let n = 0;
const fresh = (name: string) => join(tmpParent, `${name}-${++n}`);

function run(argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", TERM: "xterm" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

function skipReason(): string | null {
  if (!isRoot) return "not root";
  if (!hasChroot) return "no chroot command on the host";
  return null;
}

describe("buildHostRootfs", () => {
  const dir = fresh("host");
  const wanted = ["sh", "ls", "cat", "id", "echo", "uname", "mount"];
  const r = buildHostRootfs(dir, wanted, { path: "/usr/sbin:/usr/bin:/sbin:/bin" });

  test("binaries, the loader and the libraries are where the loader will look", () => {
    expect(r.binaries.map((b) => b.name)).toEqual(wanted);
    for (const b of r.binaries) {
      const inRoot = resolveInRoot(dir, b.path);
      expect(statSync(inRoot).isFile()).toBe(true);
      const interp = readElf(b.host).interp;
      if (interp) expect(statSync(resolveInRoot(dir, interp)).isFile()).toBe(true);
    }
    expect(r.interpreters.length).toBeGreaterThan(0);
    expect(r.libraries.length).toBeGreaterThan(0);
    for (const l of r.libraries) expect(statSync(resolveInRoot(dir, l)).isFile()).toBe(true);
    expect(r.bytes).toBeGreaterThan(100_000);
  });

  test("the host's top-level layout is mirrored (merged-/usr symlinks included)", () => {
    for (const d of ["/bin", "/sbin", "/lib", "/lib64"]) {
      const host = lstatSync(d, { throwIfNoEntry: false });
      if (host?.isSymbolicLink()) expect(readlinkSync(join(dir, d))).toBe(readlinkSync(d));
      else if (d === "/bin" || d === "/sbin") expect(lstatSync(join(dir, d)).isDirectory()).toBe(true);
    }
    expect(existsSync(resolveInRoot(dir, "/bin/sh"))).toBe(true);
  });

  test("copies, never links; modes kept", () => {
    const hostLs = findExecutable("ls", "/usr/bin:/bin")!;
    const copy = statSync(resolveInRoot(dir, r.binaries.find((b) => b.name === "ls")!.path));
    const orig = statSync(hostLs);
    expect(copy.ino === orig.ino && copy.dev === orig.dev).toBe(false);
    const walkFiles = (d: string): string[] =>
      readdirSync(d).flatMap((name) => {
        const p = join(d, name);
        const st = lstatSync(p);
        return st.isDirectory() ? walkFiles(p) : st.isFile() ? [p] : [];
      });
    for (const f of walkFiles(dir)) expect(statSync(f).nlink).toBe(1);
    const mountB = r.binaries.find((b) => b.name === "mount")!;
    expect(statSync(resolveInRoot(dir, mountB.path)).mode & 0o7777).toBe(statSync(mountB.host).mode & 0o7777);
  });

  test("standard directories and /etc files", () => {
    expect(statSync(join(dir, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(dir, "root")).mode & 0o7777).toBe(0o700);
    for (const d of ["proc", "sys", "dev", "run", "etc"]) expect(statSync(join(dir, d)).isDirectory()).toBe(true);
    const passwd = readFileSync(join(dir, "etc/passwd"), "utf8");
    expect(passwd).toMatch(/^root:x:0:0:/m);
    expect(passwd).toMatch(/^nobody:x:65534:65534:/m);
    expect(readFileSync(join(dir, "etc/group"), "utf8")).toMatch(/^root:x:0:/m);
    expect(readFileSync(join(dir, "etc/hostname"), "utf8")).toBe("ctr\n");
    expect(readFileSync(join(dir, "etc/hosts"), "utf8")).toMatch(/127\.0\.0\.1\s+localhost/);
    expect(readFileSync(join(dir, "etc/resolv.conf"), "utf8")).toMatch(/^nameserver /m);
    const nss = readFileSync(join(dir, "etc/nsswitch.conf"), "utf8");
    expect(nss).toMatch(/^passwd:\s+files$/m);
    expect(nss).not.toMatch(/systemd|ldap|sss/);
  });

  test("chroot smoke test: sh, ls, id, cat, uname", () => {
    const why = skipReason();
    if (why) return void console.log(`skipped chroot smoke test: ${why}`);
    const res = run(["chroot", dir, "/bin/sh", "-c", "ls /; id; cat /etc/hostname; uname -s; echo ok"]);
    expect(res.err).toBe("");
    expect(res.code).toBe(0);
    expect(res.out).toContain("etc\n");
    expect(res.out).toContain("uid=0(root) gid=0(root)");
    expect(res.out).toContain("ctr\n");
    expect(res.out).toContain("Linux\n");
    expect(res.out.endsWith("ok\n")).toBe(true);
  });

  test("refuses a non-empty directory, an unknown binary, an empty list", () => {
    expect(() => buildHostRootfs(dir, ["ls"])).toThrow(/not empty/);
    expect(() => buildHostRootfs(fresh("x"), ["no-such-binary-ctr"])).toThrow(RootfsError);
    expect(() => buildHostRootfs(fresh("x"), [])).toThrow(RootfsError);
  });
});

describe("paths inside the root never escape it", () => {
  test("absolute and .. symlinks resolve inside the root", () => {
    const dir = fresh("escape");
    mkdirSync(join(dir, "etc"), { recursive: true });
    symlinkSync("/etc", join(dir, "evil"));
    symlinkSync("../../../../..", join(dir, "up"));
    expect(resolveInRoot(dir, "/evil/passwd")).toBe(join(dir, "etc/passwd"));
    expect(resolveInRoot(dir, "/up/etc")).toBe(join(dir, "etc"));
    expect(resolveInRoot(dir, "/../../etc")).toBe(join(dir, "etc"));
    expect(resolveInRoot(dir, "/evil", false)).toBe(join(dir, "evil"));
  });

  test("a binary with $ORIGIN runpath, symlinked soname, and a library known only to ld.so.cache", () => {
    const host = readElfIdent(findExecutable("ls", "/usr/bin:/bin")!);
    const interp = readElf(findExecutable("ls", "/usr/bin:/bin")!).interp!;
    const app = fresh("app");
    mkdirSync(join(app, "bin"), { recursive: true });
    mkdirSync(join(app, "lib"), { recursive: true });
    mkdirSync(join(app, "ldcache"), { recursive: true });
    const elf = (o: Partial<Parameters<typeof makeElf>[0]>) => makeElf({ bits: host.bits, le: host.littleEndian, machine: host.machine, ...o });
    writeFileSync(join(app, "bin/prog"), elf({ interp, needed: ["libfoo.so.1", "libq.so.1"], runpath: "$ORIGIN/../lib" }), { mode: 0o755 });
    writeFileSync(join(app, "lib/libfoo.so.1.0"), elf({ soname: "libfoo.so.1" }));
    symlinkSync("libfoo.so.1.0", join(app, "lib/libfoo.so.1"));
    writeFileSync(join(app, "ldcache/libq.so.1"), elf({ soname: "libq.so.1" }));

    const dir = fresh("approot");
    const r = buildHostRootfs(dir, [join(app, "bin/prog")], { ldconfigDirs: [join(app, "ldcache")] });
    // Mirrored at its host path, symlink chain kept.
    expect(readlinkSync(resolveInRoot(dir, join(app, "lib/libfoo.so.1"), false))).toBe("libfoo.so.1.0");
    expect(lstatSync(resolveInRoot(dir, join(app, "lib/libfoo.so.1.0"))).isFile()).toBe(true);
    // The new root has no ld.so.cache: a cache-only library goes to a built-in directory.
    const sysDir = systemLibraryDirs(host.machine, host.bits).find((d) => existsSync(d))!;
    expect(lstatSync(resolveInRoot(dir, `${sysDir}/libq.so.1`)).isFile()).toBe(true);
    expect(existsSync(resolveInRoot(dir, join(app, "ldcache/libq.so.1")))).toBe(false);
    expect(r.libraries.length).toBe(2);
  });
});

describe("buildBusyboxRootfs", () => {
  test("from the host's busybox, or a clear error naming the package", () => {
    const bb = findBusybox();
    if (!bb) {
      console.log("no busybox on this host: checking the error only (apt-get install busybox-static to test more)");
      expect(() => buildBusyboxRootfs(fresh("bb"))).toThrow(/busybox-static/);
      return;
    }
    expect(() => buildBusyboxRootfs(fresh("bb"), { busybox: "/nonexistent/busybox" })).toThrow(RootfsError);
    const dir = fresh("bb");
    const r = buildBusyboxRootfs(dir);
    expect(r.applets.length).toBeGreaterThan(50);
    expect(readlinkSync(join(dir, "bin/ls"))).toBe("/bin/busybox");
    expect(lstatSync(join(dir, "bin/busybox")).isFile()).toBe(true);
    expect(existsSync(join(dir, "linuxrc"))).toBe(false);
    const why = skipReason();
    if (why) return void console.log(`skipped busybox chroot test: ${why}`);
    const res = run(["chroot", dir, "/bin/sh", "-c", "ls /; id; echo ok"]);
    expect(res.code).toBe(0);
    expect(res.out).toContain("uid=0(root)");
    expect(res.out.endsWith("ok\n")).toBe(true);
  });
});

describe("defaultRootfs", () => {
  const parent = fresh("cache");
  const cache = join(parent, "default");
  /** Only the cache itself may remain next to it: no lock, no temporary or retired trees. */
  const expectTidy = () => expect(readdirSync(parent).sort()).toEqual(["default"]);
  const passwdIno = () => statSync(join(cache, "rootfs/etc/passwd")).ino;
  const editManifest = (f: (m: { key: string; sources: Array<[string, number, number, number]> }) => void) => {
    const p = join(cache, "manifest.json");
    const m = JSON.parse(readFileSync(p, "utf8"));
    f(m);
    writeFileSync(p, JSON.stringify(m));
  };
  let built = 0;
  const progress = (msg: string) => {
    if (msg.startsWith("building the default rootfs")) built++;
  };

  test("first call builds; it has a shell and the default tools", () => {
    const t0 = performance.now();
    const root = defaultRootfs(cache, { onProgress: progress });
    const ms = performance.now() - t0;
    expect(root).toBe(join(cache, "rootfs"));
    expect(built).toBe(1);
    const check = checkDefaultRootfs(cache);
    expect(check.valid).toBe(true);
    if (check.valid) console.log(`default rootfs: ${(check.manifest.bytes / 1e6).toFixed(1)} MB, ${check.manifest.entries.length} entries, built in ${ms.toFixed(0)} ms`);
    for (const b of ["sh", "ls", "ps", "cat", "mount", "hostname", "id", "ipcs", "ipcmk", "sleep", "uname", "env", "top"]) {
      if (findExecutable(b, "/usr/sbin:/usr/bin:/sbin:/bin")) expect(existsSync(resolveInRoot(root, `/bin/${b}`)) || existsSync(resolveInRoot(root, `/sbin/${b}`))).toBe(true);
    }
    expectTidy();
  });

  test("cache hit: no rebuild (same marker inode), and cheap", () => {
    const ino = passwdIno();
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      defaultRootfs(cache, { onProgress: progress });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[25]!;
    console.log(`default rootfs cache hit: median ${median.toFixed(3)} ms, min ${times[0]!.toFixed(3)} ms`);
    expect(built).toBe(1);
    expect(passwdIno()).toBe(ino);
    expect(median).toBeLessThan(2);
    expectTidy();
  });

  test("a changed host file (simulated in the manifest) rebuilds", () => {
    const ino = passwdIno();
    editManifest((m) => {
      m.sources[0]![2] += 1000;
    });
    expect(checkDefaultRootfs(cache).valid).toBe(false);
    defaultRootfs(cache, { onProgress: progress });
    expect(built).toBe(2);
    expect(passwdIno()).not.toBe(ino);
    expect(checkDefaultRootfs(cache).valid).toBe(true);
    expectTidy();
  });

  test("a rootfs modified after the build (by a container) rebuilds", () => {
    const ino = passwdIno();
    writeFileSync(join(cache, "rootfs/etc/hostname"), "tampered\n");
    defaultRootfs(cache, { onProgress: progress });
    expect(built).toBe(3);
    expect(passwdIno()).not.toBe(ino);
    expect(readFileSync(join(cache, "rootfs/etc/hostname"), "utf8")).toBe("ctr\n");
    expectTidy();
  });

  test("leftovers of a killed build and a stale lock are cleaned up", () => {
    const deadPid = 2 ** 22 + 1; // above the kernel's maximum pid: never alive
    mkdirSync(join(parent, `.default.tmp-${deadPid}-deadbeef/rootfs`), { recursive: true });
    writeFileSync(`${cache}.lock`, `${deadPid} ${Date.now()} feedface`);
    editManifest((m) => {
      m.key = "something else";
    });
    defaultRootfs(cache, { onProgress: progress });
    expect(built).toBe(4);
    expectTidy();
  });

  test("an optional binary that appears on the host later rebuilds", () => {
    const p4 = fresh("cache-absent");
    const c4 = join(p4, "default");
    const bin = fresh("bin");
    mkdirSync(bin);
    const opts = { binaries: ["ls", "ctr-test-tool"], path: `${bin}:/usr/bin:/bin` };
    const root = defaultRootfs(c4, opts);
    expect(existsSync(resolveInRoot(root, `${bin}/ctr-test-tool`))).toBe(false);
    expect(checkDefaultRootfs(c4, opts).valid).toBe(true);
    writeFileSync(join(bin, "ctr-test-tool"), readFileSync(findExecutable("true", "/usr/bin:/bin")!), { mode: 0o755 });
    const check = checkDefaultRootfs(c4, opts);
    expect(check.valid ? "" : check.reason).toMatch(/appeared/);
    defaultRootfs(c4, opts);
    expect(lstatSync(resolveInRoot(root, `${bin}/ctr-test-tool`)).isFile()).toBe(true);
    expect(readdirSync(p4)).toEqual(["default"]);
  });

  test("a failed build leaves nothing behind", () => {
    const p2 = fresh("cache-fail");
    expect(() => defaultRootfs(join(p2, "default"), { path: "/nonexistent-dir" })).toThrow(/needs a shell/);
    expect(readdirSync(p2)).toEqual([]);
  });

  test("two processes building at once: one build, both get a valid rootfs", async () => {
    const p3 = fresh("cache-concurrent");
    const c3 = join(p3, "default");
    const mod = join(import.meta.dir, "../../runtime/features/rootfs/cache.ts");
    const code = `import { defaultRootfs } from ${JSON.stringify(mod)};
      let built = false;
      const root = defaultRootfs(process.env.CTR_TEST_CACHE, { onProgress: (m) => { if (m.startsWith("building the default")) built = true; } });
      process.stdout.write(JSON.stringify({ root, built }));`;
    const procs = [0, 1, 2].map(() =>
      Bun.spawn([process.execPath, "-e", code], { env: { ...process.env, CTR_TEST_CACHE: c3 }, stdout: "pipe", stderr: "pipe" }),
    );
    const outs = await Promise.all(procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })));
    for (const o of outs) expect(o.err).toBe("");
    for (const o of outs) expect(o.code).toBe(0);
    const results = outs.map((o) => JSON.parse(o.out) as { root: string; built: boolean });
    expect(results.every((r) => r.root === join(c3, "rootfs"))).toBe(true);
    expect(results.filter((r) => r.built).length).toBe(1);
    expect(checkDefaultRootfs(c3).valid).toBe(true);
    expect(readdirSync(p3)).toEqual(["default"]);
    rmSync(p3, { recursive: true });
  });

  test("a retired rootfs still used as a process's root is kept until it is free", async () => {
    const why = skipReason();
    if (why) return void console.log(`skipped: ${why}`);
    const user = Bun.spawn(["chroot", join(cache, "rootfs"), "/bin/sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    const rootIno = statSync(join(cache, "rootfs")).ino;
    for (let i = 0; i < 200; i++) {
      try {
        if (statSync(`/proc/${user.pid}/root`).ino === rootIno) break;
      } catch {
        // not yet
      }
      await Bun.sleep(5);
    }
    try {
      editManifest((m) => {
        m.key = "rebuild 1";
      });
      defaultRootfs(cache);
      const retired = readdirSync(parent).filter((n) => n.startsWith(".default.old-"));
      expect(retired.length).toBe(1);
    } finally {
      user.kill();
      await user.exited;
    }
    editManifest((m) => {
      m.key = "rebuild 2";
    });
    defaultRootfs(cache);
    expectTidy();
  });

  test("chroot smoke test of the default rootfs: ps, top, hostname, ipc, mount", () => {
    const why = skipReason() ?? (hasUnshare ? null : "no unshare command on the host");
    if (why) return void console.log(`skipped default rootfs smoke test: ${why}`);
    const root = defaultRootfs(cache);
    const script = [
      "echo pid=$$",
      "ps -o pid=,comm= -p 1",
      "top -b -n 1 | head -1 | grep -c '^top'",
      "hostname c1 && hostname",
      "ipcmk -Q >/dev/null 2>&1 || ipcmk -Q",
      "ipcs -q | grep -c 0x",
      "mount -t tmpfs none /mnt && touch /mnt/f && ls /mnt && umount /mnt",
      "bash -c 'echo bash ok' 2>/dev/null || echo bash absent",
      "echo hello | grep -c hello",
      "sleep 0 && uname -s && env | grep -c PATH && nproc >/dev/null && echo tools ok",
    ].join("; ");
    // Private mount, PID, UTS and IPC namespaces: nothing reaches the host.
    const res = run(["unshare", "--mount", "--pid", "--fork", "--uts", "--ipc", `--mount-proc=${root}/proc`, "chroot", root, "/bin/sh", "-c", script]);
    expect(res.err).toBe("");
    expect(res.code).toBe(0);
    const lines = res.out.trim().split("\n").map((l) => l.trim());
    expect(lines).toEqual(["pid=1", "1 sh", "1", "c1", "1", "f", expect.stringMatching(/^bash (ok|absent)$/), "1", "Linux", "1", "tools ok"]);
  });

  test("default cache location", () => {
    if (isRoot) {
      // Root's cache must be readable by a container whose root is mapped to another uid.
      expect(defaultCacheDir({ SUDO_USER: "someone", HOME: "/home/someone", XDG_CACHE_HOME: "/home/someone/.cache" })).toBe("/var/cache/ctr/rootfs/default");
      expect(defaultCacheDir({ HOME: "/h" })).toBe("/var/cache/ctr/rootfs/default");
    } else {
      expect(defaultCacheDir({ XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/ctr/rootfs/default");
      expect(defaultCacheDir({ HOME: "/h" })).toBe("/h/.cache/ctr/rootfs/default");
    }
  });
});
