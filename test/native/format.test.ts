// Pure parts of native/: rendering, errno tables, SysError, wait status decoding.
// Nothing here loads koffi or needs privileges.

import { describe, expect, test } from "bun:test";
import {
  CAP_CHOWN, CAP_KILL, CAP_SYS_ADMIN, CLONE_FLAGS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUTS,
  MNT_DETACH, MOUNT_FLAGS, MS_BIND, MS_NODEV, MS_NOSUID, MS_PRIVATE, MS_REC, O_CLOEXEC, O_CREAT,
  O_RDWR, O_WRONLY, RLIM_INFINITY, SIGNAL_NAMES, SIGTERM, S_IFCHR, SysError, UMOUNT_FLAGS,
  UMOUNT_NOFOLLOW, WAIT_FLAGS, WNOHANG, __WALL, __WCLONE, capMask, capNames, capNumber,
  decodeWaitStatus, enumName, errnoName, errnoNumber, flagNames, formatCall, formatOpenFlags,
  isSysError, major, makedev, minor, signalNumber, strerror,
} from "../../native/index.ts";
import * as native from "../../native/constants.ts";
import type { FlagTable } from "../../native/constants.ts";

describe("flagNames", () => {
  test("renders bits in table order", () => {
    expect(flagNames(CLONE_NEWPID | CLONE_NEWUTS, CLONE_FLAGS)).toBe("CLONE_NEWUTS|CLONE_NEWPID");
    expect(flagNames(MS_PRIVATE | MS_REC, MOUNT_FLAGS)).toBe("MS_REC|MS_PRIVATE");
    expect(flagNames(MNT_DETACH, UMOUNT_FLAGS)).toBe("MNT_DETACH");
    expect(flagNames(MNT_DETACH | UMOUNT_NOFOLLOW, UMOUNT_FLAGS)).toBe("MNT_DETACH|UMOUNT_NOFOLLOW");
  });
  test("zero and unknown bits", () => {
    expect(flagNames(0, MOUNT_FLAGS)).toBe("0");
    expect(flagNames(MS_BIND | 0x80000000, MOUNT_FLAGS)).toBe("MS_BIND|0x80000000");
    expect(flagNames(0x1, CLONE_FLAGS)).toBe("0x1");
  });
  test("high bits, negative C ints and bigints", () => {
    expect(flagNames(CLONE_NEWNET, CLONE_FLAGS)).toBe("CLONE_NEWNET");
    expect(flagNames(__WALL | __WCLONE | WNOHANG, WAIT_FLAGS)).toBe("WNOHANG|__WALL|__WCLONE");
    expect(flagNames(BigInt(MS_REC | MS_PRIVATE), MOUNT_FLAGS)).toBe("MS_REC|MS_PRIVATE");
  });
  test("the 32-bit path says what the bigint path says, for every table and random values", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xffff) * 0x10000 + (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xffff);
    const tables = Object.values(native).filter((v): v is FlagTable => Array.isArray(v) && v.length > 0 && v.every((e) => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number"));
    expect(tables.length).toBeGreaterThan(10);
    for (const table of tables) {
      const bits = table.map(([, b]) => b);
      for (let i = 0; i < 200; i++) {
        // random words, words made of the table's own bits, and negative C ints
        const own = bits.filter(() => rand() % 3 === 0).reduce((a, b) => a | b, 0);
        for (const v of [rand(), own, own | (rand() & 0xff), own | 0, -1 - (rand() & 0xffff)]) {
          expect(flagNames(v, table)).toBe(flagNames(BigInt(v >>> 0), table));
        }
      }
    }
  });
  test("enumName", () => {
    expect(enumName(SIGTERM, SIGNAL_NAMES)).toBe("SIGTERM");
    expect(enumName(99, SIGNAL_NAMES)).toBe("99");
  });
});

describe("formatCall", () => {
  test("strace-like, flags symbolic, trailing nulls dropped", () => {
    expect(formatCall("mount", ["proc", "/proc", "proc", MS_NOSUID | MS_NODEV, null])).toBe(
      'mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV)',
    );
    expect(formatCall("mount", [null, "/", null, MS_REC | MS_PRIVATE, null])).toBe('mount(NULL, "/", NULL, MS_REC|MS_PRIVATE)');
    expect(formatCall("unshare", [CLONE_NEWUTS | CLONE_NEWPID])).toBe("unshare(CLONE_NEWUTS|CLONE_NEWPID)");
    expect(formatCall("umount2", ["/old", MNT_DETACH])).toBe('umount2("/old", MNT_DETACH)');
    expect(formatCall("pivot_root", [".", "."])).toBe('pivot_root(".", ".")');
  });
  test("strings use JSON escapes", () => {
    expect(formatCall("chdir", ['a"b\n\u0001'])).toBe('chdir("a\\"b\\n\\u0001")');
    expect(formatCall("execve", ["/bin/sh", ["sh", "-c", "echo hi"], ["A=1"]])).toBe(
      'execve("/bin/sh", ["sh", "-c", "echo hi"], ["A=1"])',
    );
  });
  test("modes, devices, open flags, signals, limits", () => {
    expect(formatCall("mknod", ["/dev/null", S_IFCHR | 0o666, makedev(1, 3)])).toBe('mknod("/dev/null", S_IFCHR|0666, makedev(1, 3))');
    expect(formatCall("open", ["/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644])).toBe('open("/x", O_WRONLY|O_CREAT|O_CLOEXEC, 0644)');
    expect(formatOpenFlags(O_RDWR)).toBe("O_RDWR");
    expect(formatCall("kill", [12, SIGTERM])).toBe("kill(12, SIGTERM)");
    expect(formatCall("setrlimit", [7, 1024n, RLIM_INFINITY])).toBe("setrlimit(RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=RLIM_INFINITY})");
    expect(formatCall("prctl", [24, CAP_SYS_ADMIN])).toBe("prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)");
    expect(formatCall("prctl", [1, SIGTERM])).toBe("prctl(PR_SET_PDEATHSIG, SIGTERM)");
    expect(formatCall("prctl", [47, 4])).toBe("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)");
    expect(formatCall("write", [1, new TextEncoder().encode("hi\n"), 3])).toBe('write(1, "hi\\n", 3)');
  });
});

describe("errno", () => {
  test("names and texts", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(2)).toBe("ENOENT");
    expect(errnoName(11)).toBe("EAGAIN");
    expect(errnoName(19)).toBe("ENODEV");
    expect(errnoName(35)).toBe("EDEADLK");
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(133)).toBe("EHWPOISON");
    expect(errnoName(41)).toBe("E41");
    expect(strerror(1)).toBe("operation not permitted");
    expect(strerror(2)).toBe("no such file or directory");
    expect(strerror(9999)).toBe("unknown error 9999");
    expect(errnoNumber("EWOULDBLOCK")).toBe(11);
    expect(errnoNumber("ENOENT")).toBe(2);
  });
});

describe("SysError", () => {
  test("from errno: message names the call and quotes paths", () => {
    const e = SysError.fromErrno("mount", ["proc", "/proc", "proc", MS_NOSUID | MS_NODEV, null], 1);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("SysError");
    expect(e.errno).toBe(1);
    expect(e.code).toBe("EPERM");
    expect(e.syscall).toBe("mount");
    expect(e.message).toBe('mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV): EPERM (operation not permitted)');
    expect(isSysError(e, "EPERM")).toBe(true);
    expect(isSysError(e, "ENOENT")).toBe(false);
    expect("hint" in e).toBe(false);
  });
  test("without a real errno, for the runtime's own failures", () => {
    const span = { file: "a.ctr", line: 3, column: 1, offset: 20, length: 5 };
    const e = new SysError({ message: "init has 3 threads", hint: "run the bundled init", span, status: 125 });
    expect(e.errno).toBe(0);
    expect(e.code).toBe("");
    expect(e.syscall).toBe("");
    expect(e.args).toEqual([]);
    expect(e.message).toBe("init has 3 threads");
    expect(e.hint).toBe("run the bundled init");
    expect(e.span).toEqual(span);
    expect(e.status).toBe(125);
  });
});

describe("pure helpers", () => {
  test("makedev / major / minor like glibc", () => {
    expect(makedev(1, 3)).toBe(0x103n);
    expect(makedev(136, 0)).toBe(0x8800n);
    const d = makedev(4100, 300000);
    expect(major(d)).toBe(4100);
    expect(minor(d)).toBe(300000);
  });
  test("capabilities by name and mask", () => {
    expect(capNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capNumber("net_admin")).toBe(12);
    expect(capNumber("nope")).toBeUndefined();
    expect(capMask([CAP_CHOWN, CAP_KILL])).toBe(0x21n);
    expect(capNames(0x21n)).toEqual(["CAP_CHOWN", "CAP_KILL"]);
    expect(signalNumber("term")).toBe(15);
  });
  test("decodeWaitStatus", () => {
    expect(decodeWaitStatus(10, 3 << 8)).toMatchObject({ pid: 10, exited: true, exitCode: 3, signaled: false, signal: null });
    expect(decodeWaitStatus(10, 9)).toMatchObject({ exited: false, exitCode: null, signaled: true, signal: 9, coreDumped: false });
    expect(decodeWaitStatus(10, 11 | 0x80)).toMatchObject({ signaled: true, signal: 11, coreDumped: true });
    expect(decodeWaitStatus(10, (19 << 8) | 0x7f)).toMatchObject({ stopped: true, stopSignal: 19, exited: false, signaled: false });
    expect(decodeWaitStatus(10, 0xffff)).toMatchObject({ continued: true, exited: false, signaled: false });
    expect(decodeWaitStatus(0, 0)).toMatchObject({ pid: 0, exited: false, signaled: false });
  });
});
