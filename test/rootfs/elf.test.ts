/**
 * runtime/features/rootfs/elf.ts: the ELF reader (real host binaries, and synthetic files for the 32-bit,
 * big-endian and $ORIGIN cases the host may not have) and the ld.so-like library search.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ElfError,
  expandDynamicTokens,
  isElf,
  ldSoConfDirs,
  readElf,
  readElfIdent,
  resolveDependencies,
  systemLibraryDirs,
} from "../../runtime/features/rootfs/elf.ts";
import { makeElf } from "./elf-fixture.ts";

const tmpParent = mkdtempSync(join(tmpdir(), "ctr-elf-test-"));
afterAll(() => {
  rmSync(tmpParent, { recursive: true, force: true });
  expect(existsSync(tmpParent)).toBe(false);
});

const lsPath = ["/bin/ls", "/usr/bin/ls"].find((p) => existsSync(p))!;

describe("real host binaries", () => {
  test("/bin/ls: PT_INTERP and DT_NEEDED", () => {
    const e = readElf(lsPath);
    expect(e.interp).not.toBeNull();
    expect(existsSync(e.interp!)).toBe(true);
    expect(e.needed.length).toBeGreaterThan(0);
    expect(e.needed.some((n) => /^lib(c|c\.musl-.*)\.so/.test(n) || n.startsWith("libc."))).toBe(true);
    expect(e.isStatic).toBe(false);
    expect([32, 64]).toContain(e.bits);
  });

  test("/bin/ls: transitive closure found, nothing missing, same as ldd", () => {
    const c = resolveDependencies(lsPath);
    expect(c.missing).toEqual([]);
    for (const n of readElf(lsPath).needed) expect(c.libraries.map((l) => l.name)).toContain(n);
    for (const l of c.libraries) expect(existsSync(l.path)).toBe(true);
    // ldd as an oracle only (the implementation never runs it).
    const ldd = Bun.spawnSync(["ldd", lsPath], { stdout: "pipe", stderr: "ignore" });
    if (ldd.exitCode !== 0) {
      console.log("ldd not available: skipping the comparison with ldd");
      return;
    }
    const theirs = [...ldd.stdout.toString().matchAll(/^\s*(\S+) => (\/\S+)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const interpName = c.interp!.split("/").pop();
    const ours = c.libraries
      .filter((l) => l.name !== interpName) // ldd lists the loader on its own line, without "=>"
      .map((l) => `${l.name} ${l.path}`)
      .sort();
    expect(ours).toEqual(theirs);
  });

  test("a static binary has no interpreter and no needed libraries", () => {
    const candidates = ["/usr/sbin/ldconfig", "/sbin/ldconfig", "/bin/busybox", "/usr/bin/busybox"].filter((p) => existsSync(p));
    const staticOne = candidates.find((p) => readElf(p).isStatic);
    if (!staticOne) {
      console.log("no static binary on this host (ldconfig, busybox): skipped");
      return;
    }
    const e = readElf(staticOne);
    expect(e.interp).toBeNull();
    expect(e.needed).toEqual([]);
    const c = resolveDependencies(staticOne);
    expect(c.libraries).toEqual([]);
    expect(c.interp).toBeNull();
  });

  test("not ELF, truncated ELF", () => {
    expect(() => readElf("/etc/passwd")).toThrow(ElfError);
    expect(isElf("/etc/passwd")).toBe(false);
    expect(isElf(lsPath)).toBe(true);
    const cut = join(tmpParent, "truncated");
    writeFileSync(cut, readFileSync(lsPath).subarray(0, 80));
    expect(() => readElf(cut)).toThrow(/truncated/);
  });
});

describe("synthetic ELF files", () => {
  const host = readElfIdent(lsPath);

  for (const [bits, le] of [
    [64, true],
    [32, true],
    [64, false],
    [32, false],
  ] as const) {
    test(`ELF${bits} ${le ? "little" : "big"}-endian: interp, needed, soname, rpath, runpath`, () => {
      const p = join(tmpParent, `synthetic-${bits}-${le}`);
      writeFileSync(
        p,
        makeElf({
          bits,
          le,
          machine: 62,
          interp: "/lib/ld-test.so.1",
          needed: ["liba.so.1", "libb.so.2"],
          soname: "libself.so.3",
          rpath: "/opt/r1:$ORIGIN/r2",
          runpath: "${ORIGIN}/../lib",
        }),
      );
      const e = readElf(p);
      expect(e.bits).toBe(bits);
      expect(e.littleEndian).toBe(le);
      expect(e.machine).toBe(62);
      expect(e.interp).toBe("/lib/ld-test.so.1");
      expect(e.needed).toEqual(["liba.so.1", "libb.so.2"]);
      expect(e.soname).toBe("libself.so.3");
      expect(e.rpath).toEqual(["/opt/r1", "$ORIGIN/r2"]);
      expect(e.runpath).toEqual(["${ORIGIN}/../lib"]);
      expect(e.isStatic).toBe(false);
    });
  }

  test("no PT_DYNAMIC, no PT_INTERP: static", () => {
    const p = join(tmpParent, "synthetic-static");
    writeFileSync(p, makeElf({ bits: 64, machine: 62, type: 2, dynamic: false }));
    const e = readElf(p);
    expect(e.isStatic).toBe(true);
    expect(e.needed).toEqual([]);
    expect(e.interp).toBeNull();
  });

  test("$ORIGIN runpath, symlinked sonames, transitive needs, wrong-class candidates skipped", () => {
    // app/bin/prog  RUNPATH=$ORIGIN/wrong:$ORIGIN/../lib   NEEDED libfoo.so.1
    // app/bin/wrong/libfoo.so.1   (other class: must be skipped, as ld.so does)
    // app/lib/libfoo.so.1 -> libfoo.so.1.0   NEEDED libbar.so.2   RUNPATH $ORIGIN
    // app/lib/libbar.so.2
    const app = join(tmpParent, "app");
    mkdirSync(join(app, "bin/wrong"), { recursive: true });
    mkdirSync(join(app, "lib"), { recursive: true });
    const other = host.bits === 64 ? 32 : 64;
    const m = host.machine;
    writeFileSync(
      join(app, "bin/prog"),
      makeElf({ bits: host.bits, le: host.littleEndian, machine: m, interp: "/lib/ld-x.so", needed: ["libfoo.so.1"], runpath: "$ORIGIN/wrong:$ORIGIN/../lib" }),
      { mode: 0o755 },
    );
    writeFileSync(join(app, "bin/wrong/libfoo.so.1"), makeElf({ bits: other, le: host.littleEndian, machine: m }));
    writeFileSync(
      join(app, "lib/libfoo.so.1.0"),
      makeElf({ bits: host.bits, le: host.littleEndian, machine: m, needed: ["libbar.so.2"], soname: "libfoo.so.1", runpath: "$ORIGIN" }),
    );
    symlinkSync("libfoo.so.1.0", join(app, "lib/libfoo.so.1"));
    writeFileSync(join(app, "lib/libbar.so.2"), makeElf({ bits: host.bits, le: host.littleEndian, machine: m, soname: "libbar.so.2" }));

    const c = resolveDependencies(join(app, "bin/prog"), { ldconfigDirs: [] });
    expect(c.missing).toEqual([]);
    expect(c.interp).toBe("/lib/ld-x.so");
    expect(c.libraries.map((l) => [l.name, l.path, l.source])).toEqual([
      ["libfoo.so.1", join(app, "lib/libfoo.so.1"), "runpath"],
      ["libbar.so.2", join(app, "lib/libbar.so.2"), "runpath"],
    ]);

    // A need nobody provides is reported, not thrown.
    writeFileSync(join(app, "bin/prog2"), makeElf({ bits: host.bits, le: host.littleEndian, machine: m, needed: ["libnope.so.9"] }));
    const c2 = resolveDependencies(join(app, "bin/prog2"), { ldconfigDirs: [] });
    expect(c2.missing).toEqual([{ name: "libnope.so.9", neededBy: join(app, "bin/prog2") }]);
  });
});

describe("search configuration", () => {
  test("ld.so.conf with include globs", () => {
    const d = join(tmpParent, "ldconf");
    mkdirSync(join(d, "conf.d"), { recursive: true });
    writeFileSync(join(d, "ld.so.conf"), "# comment\n/opt/first\ninclude conf.d/*.conf\n/opt/last\n");
    writeFileSync(join(d, "conf.d/b.conf"), "/opt/b1 /opt/b2\n");
    writeFileSync(join(d, "conf.d/a.conf"), "/opt/a # trailing\n");
    writeFileSync(join(d, "conf.d/ignored.txt"), "/opt/no\n");
    expect(ldSoConfDirs(join(d, "ld.so.conf"))).toEqual(["/opt/first", "/opt/a", "/opt/b1", "/opt/b2", "/opt/last"]);
    expect(ldSoConfDirs(join(d, "missing.conf"))).toEqual([]);
  });

  test("$ORIGIN, ${ORIGIN}, $PLATFORM, $LIB", () => {
    const id = { bits: 64 as const, littleEndian: true, type: 3, machine: 62 };
    expect(expandDynamicTokens("$ORIGIN/../lib", "/a/bin", id)).toEqual(["/a/bin/../lib"]);
    expect(expandDynamicTokens("${ORIGIN}/x:$PLATFORM", "/o", id)).toEqual(["/o/x:x86_64"]);
    expect(expandDynamicTokens("/usr/$LIB/foo", "/o", id)).toContain("/usr/lib64/foo");
    expect(expandDynamicTokens("/usr/$LIB/foo", "/o", id)).toContain("/usr/lib/x86_64-linux-gnu/foo");
  });

  test("system directories: multiarch first", () => {
    expect(systemLibraryDirs(62, 64).slice(0, 2)).toEqual(["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"]);
    expect(systemLibraryDirs(183, 64)).toContain("/usr/lib/aarch64-linux-gnu");
    expect(systemLibraryDirs(183, 64)).toContain("/lib64");
  });

  test("temp files are confined to the test's directory", () => {
    expect(readdirSync(tmpParent).every((n) => !n.startsWith("."))).toBe(true);
  });
});
