// native/ns.ts — namespaces, mounts, the root and working directory, device nodes, UTS names.
//
// unshare/setns move the caller into other namespaces (CLONE_NEWPID: only its future
// children); mount/umount2/pivot_root/chroot act on the caller's mount namespace and root,
// sethostname/setdomainname on its UTS namespace.
// Conventions (errors, tracing) are in trace.ts.

import { AT_FDCWD } from "./constants.ts";
import { formatValue } from "./format.ts";
import { C, errno } from "./libc.ts";
import { byteLength, cString, emit, en, fail, int, sysno, t0, tracer } from "./trace.ts";

/** unshare(2): move the calling thread (the process, for CLONE_NEWUSER) into new namespaces. */
export function unshare(flags: number): void {
  const s = t0();
  const r: number = C.unshare(flags);
  int("unshare", r, en(r), [flags], s);
}

/** setns(2): join the namespace `fd` refers to (an open /proc/PID/ns/* file). `nstype` 0 = any. */
export function setns(fd: number, nstype = 0): void {
  const s = t0();
  const r: number = C.setns(fd, nstype);
  int("setns", r, en(r), [fd, nstype], s);
}

/** mount(2). `source`, `fstype` and `data` may be null. */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const s = t0();
  const r: number = C.mount(source, target, fstype, flags, data);
  int("mount", r, en(r), [source, target, fstype, flags, data], s);
}

/** umount2(2) with MNT_* / UMOUNT_NOFOLLOW flags. */
export function umount2(target: string, flags = 0): void {
  const s = t0();
  const r: number = C.umount2(target, flags);
  int("umount2", r, en(r), [target, flags], s);
}

/** pivot_root(2), through syscall(2) (glibc wraps it only in recent versions). */
export function pivotRoot(newRoot: string, putOld: string): void {
  const s = t0();
  const r = Number(C.syscall(sysno("pivot_root"), "const char *", newRoot, "const char *", putOld));
  int("pivot_root", r, en(r), [newRoot, putOld], s);
}

/** chroot(2). */
export function chroot(path: string): void {
  const s = t0();
  const r: number = C.chroot(path);
  int("chroot", r, en(r), [path], s);
}

/** chdir(2). */
export function chdir(path: string): void {
  const s = t0();
  const r: number = C.chdir(path);
  int("chdir", r, en(r), [path], s);
}

/** fchdir(2). */
export function fchdir(fd: number): void {
  const s = t0();
  const r: number = C.fchdir(fd);
  int("fchdir", r, en(r), [fd], s);
}

/** mknod(2) (as mknodat(AT_FDCWD, …) through syscall(2), which every glibc has). */
export function mknod(path: string, mode: number, dev: number | bigint = 0): void {
  const s = t0();
  const d = BigInt(dev);
  if (d < 0n || d > 0xffffffffn) fail(75 /* EOVERFLOW */, "mknod", [path, mode, dev], s);
  const r = Number(C.syscall(sysno("mknodat"), "int", AT_FDCWD, "const char *", path, "uint32_t", mode >>> 0, "uint32_t", Number(d)));
  int("mknod", r, en(r), [path, mode, dev], s);
}

/** Device number as glibc's makedev(3) builds it. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

/** Major number of a device number (glibc's major(3)). */
export function major(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
}

/** Minor number of a device number (glibc's minor(3)). */
export function minor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
}

// ---------------------------------------------------------------------------
// UTS names

/** sethostname(2). */
export function sethostname(name: string): void {
  const s = t0();
  const n = byteLength(name);
  const r: number = C.sethostname(name, n);
  int("sethostname", r, en(r), [name, n], s);
}

/** setdomainname(2). */
export function setdomainname(name: string): void {
  const s = t0();
  const n = byteLength(name);
  const r: number = C.setdomainname(name, n);
  int("setdomainname", r, en(r), [name, n], s);
}


// gethostname(2)/getdomainname(2) into a 257-byte buffer (the kernel's limit is 64).
function utsName(call: "gethostname" | "getdomainname"): string {
  const s = t0();
  const buf = new Uint8Array(257);
  const r: number = C[call](buf, 256);
  if (r === -1) fail(errno(), call, [], s);
  const name = cString(buf);
  if (tracer !== null) emit(call, [], formatValue(name), s);
  return name;
}

/** gethostname(2): the UTS hostname of the calling thread's namespace. */
export function gethostname(): string {
  return utsName("gethostname");
}

/** getdomainname(2): the NIS domain name of the UTS namespace. */
export function getdomainname(): string {
  return utsName("getdomainname");
}
