// Passing fds over a socketpair (sendFds/recvFds, SCM_RIGHTS): no root needed.

import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, statSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as n from "../../native/index.ts";

const opened: number[] = [];
const dirs: string[] = [];

afterEach(() => {
  n.setTrace(null);
  for (const fd of opened.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function track<T extends number[]>(...fds: T): T {
  opened.push(...fds);
  return fds;
}

function tempFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ctr-scm-"));
  dirs.push(dir);
  const file = join(dir, "f");
  writeFileSync(file, text);
  return file;
}

function readAt(fd: number, pos: number): string {
  const buf = Buffer.alloc(256);
  return buf.toString("utf8", 0, readSync(fd, buf, 0, buf.length, pos));
}

describe("sendFds / recvFds (SCM_RIGHTS)", () => {
  test("an fd of a temp file sent over a socketpair reads the file back through the received fd", () => {
    const [a, b] = track(...n.socketpair());
    const file = tempFile("through the socket\n");
    const [fd] = track(openSync(file, "r"));
    expect(n.sendFds(a, Buffer.from("x"), [fd])).toBe(1);
    closeSync(fd); // the received fd must not depend on the sender's
    const buf = new Uint8Array(8);
    const got = n.recvFds(b, buf, 4);
    track(...got.fds);
    expect(got.bytes).toBe(1);
    expect(buf[0]).toBe("x".charCodeAt(0));
    expect(got.fds.length).toBe(1);
    expect(got.truncated).toBe(false);
    expect(readAt(got.fds[0]!, 0)).toBe("through the socket\n");
    expect(fstatSync(got.fds[0]!).ino).toBe(statSync(file).ino);
    // The default MSG_CMSG_CLOEXEC: the new fd is close-on-exec.
    expect(n.getCloexec(got.fds[0]!)).toBe(true);
  });

  test("several fds arrive in order, and a control buffer too small for them is reported as truncated", () => {
    const [a, b] = track(...n.socketpair());
    const files = ["one", "two", "three"].map((t) => tempFile(t));
    const fds = track(...files.map((f) => openSync(f, "r")));
    n.sendFds(a, Buffer.from("1"), fds);
    n.sendFds(a, Buffer.from("2"), fds);
    const all = n.recvFds(b, new Uint8Array(1), 3);
    track(...all.fds);
    expect(all.fds.map((fd) => readAt(fd, 0))).toEqual(["one", "two", "three"]);
    const few = n.recvFds(b, new Uint8Array(1), 1);
    track(...few.fds);
    expect(few.fds.map((fd) => readAt(fd, 0))).toEqual(["one"]);
    expect(few.truncated).toBe(true);
  });

  test("data without fds is plain data, and flags 0 leaves the new fd inheritable", () => {
    const [a, b] = track(...n.socketpair());
    n.sendFds(a, Buffer.from("plain"), []);
    const buf = new Uint8Array(16);
    const r = n.recvFds(b, buf, 2);
    expect([r.bytes, Buffer.from(buf.subarray(0, r.bytes)).toString(), r.fds]).toEqual([5, "plain", []]);
    const [fd] = track(openSync(tempFile("x"), "r"));
    n.sendFds(a, Buffer.from("y"), [fd]);
    const got = n.recvFds(b, buf, 1, 0);
    track(...got.fds);
    expect(n.getCloexec(got.fds[0]!)).toBe(false);
  });

  test("failures are SysErrors naming the call, and calls are traced", () => {
    const events: n.TraceEvent[] = [];
    n.setTrace((e) => events.push(e));
    expect(() => n.sendFds(-1, Buffer.from("x"), [0])).toThrow(expect.objectContaining({ code: "EBADF", syscall: "sendmsg" }));
    expect(() => n.recvFds(-1, new Uint8Array(1), 1)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "recvmsg" }));
    expect(events.map((e) => [e.syscall, e.errno])).toEqual([["sendmsg", "EBADF"], ["recvmsg", "EBADF"]]);
  });
});
