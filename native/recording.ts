// native/recording.ts — a Sys (native/seam.ts) that calls nothing: it records each call
// and answers from a small in-memory file tree, for tests of the executors without root.
//
//   const sys = new RecordingSys({ "/srv/root": "dir" });
//   sys.fail("mknod", "EPERM");            // every mknod fails, as in a user namespace
//   ...run executors with it...
//   sys.effects()  // ['mount("tmpfs", "/dev", "tmpfs", MS_NOSUID|MS_NOEXEC, "mode=755,size=65536k")', ...]
//
// Each call is kept as its C name (the name the trace and SysError use: pivot_root,
// open_tree, move_mount...), its arguments in the order the wrapper traces them, and the
// line formatCall renders. Look-ups (exists, lstat, stat, fstat, readlink, readlinkat, readFile, readdir,
// pread) are recorded too,
// but effects() leaves them out: they decide a branch, they change nothing.
//
// The tree: paths the test declares ("dir", "file", or { link: target }) plus what the
// recorded calls create (mkdir, mkdirp, open, symlink, mknod). Nothing else exists, so a
// look-up of an undeclared path fails with ENOENT. mount(2) of a new filesystem empties
// its mount point (an overlay shows what its lowerdir layers hold); binds change nothing.
// open_tree copies the tree, and openat2 from that descriptor looks in the copy, so host
// paths stay what they were when PID 1 took its copy of the host's tree. Descriptors (open_tree, openat2,
// fsopen, fsmount) are numbered from 100. Pure JavaScript: no koffi, no file system.

import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, BPF_PROG_ATTACH, BPF_PROG_LOAD, MOVE_MOUNT_T_EMPTY_PATH, MS_BIND, MS_REMOUNT, O_APPEND, O_CREAT, O_EXCL, O_WRONLY, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS } from "./constants.ts";
import { errnoNumber, SysError } from "./error.ts";
import { formatCall } from "./format.ts";
import type { DirEntry, FileKind, Sys } from "./seam.ts";
import type { CapSets } from "./caps.ts";
import type { SeccompRules } from "./seccomp.ts";

export type FakeNode = "dir" | "file" | "dev" | { link: string };

/** One recorded call. */
export interface RecordedCall {
  name: string;
  args: unknown[];
  /** formatCall(name, args): `mount("proc", "/proc", "proc", MS_NOSUID)`. */
  call: string;
  /** The errno name, when the call failed (scripted, or the tree's answer: ENOENT, EEXIST). */
  error?: string;
  /** What the call returned (a descriptor, for open_tree, openat2, fsopen, fsmount). */
  result?: unknown;
}

const QUERIES = new Set(["exists", "lstat", "stat", "fstat", "readlink", "readlinkat", "readFile", "readdir", "pread", "capget"]);

type Handler = (args: unknown[]) => unknown;

export class RecordingSys implements Sys {
  readonly calls: RecordedCall[] = [];
  /** Where each move_mount onto a descriptor attached its mount: the path that descriptor names in the tree. */
  readonly attached: string[] = [];
  private readonly tree = new Map<string, FakeNode>([["/", "dir"]]);
  /** Open descriptors: the path each names, in the tree it was opened in (open_tree clones one). */
  private readonly fds = new Map<number, { path: string; tree: Map<string, FakeNode> }>();
  private nextFd = 100;
  private readonly failures: { name: string; code: string; when: (args: unknown[]) => boolean }[] = [];
  private readonly handlers = new Map<string, Handler>();
  /** What readFile and pread give back, by path (text()). */
  private readonly texts = new Map<string, string>();

  constructor(files: Record<string, FakeNode> = {}) {
    for (const [path, node] of Object.entries(files)) this.add(path, node);
  }

  /** Declare a path (its missing parents become directories). */
  add(path: string, node: FakeNode): void {
    const p = norm(path);
    for (let d = parent(p); d !== "/" && !this.tree.has(d); d = parent(d)) this.tree.set(d, "dir");
    this.tree.set(p, node);
  }

  /** Declare a file with the text readFile and pread give back (a kernel file's current value). */
  text(path: string, content: string): this {
    this.add(path, "file");
    this.texts.set(norm(path), content);
    return this;
  }

  /** Make calls named `name` fail with errno `code` (all of them, or those `when` picks). */
  fail(name: string, code: string, when: (args: unknown[]) => boolean = () => true): this {
    this.failures.push({ name, code, when });
    return this;
  }

  /** Answer calls named `name` with `handler` (its result is returned; it may throw). */
  on(name: string, handler: Handler): this {
    this.handlers.set(name, handler);
    return this;
  }

  /** Record a call made outside the seam (a program run: newuidmap), as `name(args)`. */
  record(name: string, args: unknown[]): void {
    this.rec(name, args, () => undefined);
  }

  /** The calls that change something, as formatCall lines. */
  effects(): string[] {
    return this.calls.filter((c) => !QUERIES.has(c.name)).map((c) => c.call);
  }

  /** The names of the calls that change something, in order. */
  effectNames(): string[] {
    return this.calls.filter((c) => !QUERIES.has(c.name)).map((c) => c.name);
  }

  /** Record a call, fail it if scripted, else run `model` (the tree's answer). */
  private rec<T>(name: string, args: unknown[], model: () => T): T {
    // The line is written when first read: a run of many calls (ctr explain's) need not pay for it.
    const entry = {
      name,
      args,
      get call(): string {
        const text = formatCall(name, args);
        Object.defineProperty(this, "call", { value: text, enumerable: true });
        return text;
      },
    } as RecordedCall;
    this.calls.push(entry);
    const f = this.failures.find((x) => x.name === name && x.when(args));
    if (f) {
      entry.error = f.code;
      throw SysError.fromErrno(name, args, errnoNumber(f.code) ?? 0);
    }
    const h = this.handlers.get(name);
    try {
      const result = h ? (h(args) as T) : model();
      if (result !== undefined) entry.result = result;
      return result;
    } catch (e) {
      if (e instanceof SysError) entry.error = e.code;
      throw e;
    }
  }

  private enoent(name: string, args: unknown[]): never {
    throw SysError.fromErrno(name, args, 2);
  }

  /** The node at `path` in `tree`, following symlinks (absolute targets from "/"). */
  private resolve(path: string, followLast: boolean, tree = this.tree, hops = 0): [string, FakeNode | undefined] {
    const parts = norm(path).split("/").filter(Boolean);
    let cur = "/";
    for (let i = 0; i < parts.length; i++) {
      const next = cur === "/" ? `/${parts[i]}` : `${cur}/${parts[i]}`;
      const node = tree.get(next);
      if (node !== undefined && typeof node === "object" && (followLast || i < parts.length - 1)) {
        if (hops > 40) return [next, undefined];
        const target = node.link.startsWith("/") ? node.link : `${cur}/${node.link}`;
        return this.resolve([target, ...parts.slice(i + 1)].join("/"), followLast, tree, hops + 1);
      }
      cur = next;
    }
    return [cur, tree.get(cur)];
  }

  private newFd(path: string, tree = this.tree): number {
    const fd = this.nextFd++;
    this.fds.set(fd, { path, tree });
    return fd;
  }

  /** Make `path` (symlinks followed in its parents, not in its last component). */
  private create(name: string, args: unknown[], path: string, node: FakeNode): void {
    const n = norm(path);
    const [dir, parentNode] = this.resolve(parent(n), true);
    if (parentNode === undefined) this.enoent(name, args);
    const p = (dir === "/" ? "" : dir) + n.slice(n.lastIndexOf("/"));
    if (this.tree.has(p)) throw SysError.fromErrno(name, args, 17 /* EEXIST */);
    this.tree.set(p, node);
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.rec("mount", [source, target, fstype, flags, data], () => {
      // A new filesystem hides what was below its mount point; an overlay shows its lower layers.
      if (fstype === null || (flags & (MS_BIND | MS_REMOUNT)) !== 0) return;
      const at = this.resolve(target, true)[0];
      const lower = fstype === "overlay" ? (/(?:^|,)lowerdir=([^,]*)/.exec(data ?? "")?.[1] ?? "").split(":").filter(Boolean) : [];
      const shown = new Map<string, FakeNode>();
      for (const dir of lower.reverse()) for (const [p, node] of this.below(norm(dir))) shown.set(p, node);
      for (const [p] of this.below(at)) this.tree.delete(at + p);
      for (const [p, node] of shown) this.tree.set(at + p, node);
    });
  }

  /** What the tree has below `dir`, as paths relative to it ("/etc/hosts"). */
  private below(dir: string): [string, FakeNode][] {
    const prefix = dir === "/" ? "/" : dir + "/";
    return [...this.tree].filter(([p]) => p.startsWith(prefix)).map(([p, node]) => [p.slice(prefix.length - 1), node]);
  }
  umount2(target: string, flags: number): void {
    this.rec("umount2", [target, flags], () => undefined);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.rec("pivot_root", [newRoot, putOld], () => undefined);
  }
  chroot(path: string): void {
    this.rec("chroot", [path], () => undefined);
  }
  chdir(path: string): void {
    this.rec("chdir", [path], () => undefined);
  }
  setns(fd: number, nstype: number): void {
    this.rec("setns", [fd, nstype], () => undefined);
  }
  fchdir(fd: number): void {
    this.rec("fchdir", [fd], () => undefined);
  }
  sethostname(name: string): void {
    this.rec("sethostname", [name], () => undefined);
  }
  setdomainname(name: string): void {
    this.rec("setdomainname", [name], () => undefined);
  }
  mknod(path: string, mode: number, dev: number | bigint): void {
    const args = [path, mode, dev];
    this.rec("mknod", args, () => this.create("mknod", args, path, "dev"));
  }
  openTree(dirfd: number, path: string, flags: number): number {
    // OPEN_TREE_CLONE: a detached copy, which later mounts in the namespace do not change.
    return this.rec("open_tree", [dirfd, path, flags], () => {
      const from = this.fds.get(dirfd);
      return this.newFd(from?.path ?? norm(path), new Map(from?.tree ?? this.tree));
    });
  }
  moveMount(fromFd: number, fromPath: string, toPath: string, flags: number, toDirfd = AT_FDCWD): void {
    this.rec("move_mount", [fromFd, fromPath, toDirfd, toPath, flags], () => {
      // A new filesystem (fsmount's descriptor) attached on a descriptor hides what was below
      // it, and its descriptor names that place from then on (calls *at() it land there).
      const from = this.fds.get(fromFd);
      const to = (flags & MOVE_MOUNT_T_EMPTY_PATH) !== 0 ? this.fds.get(toDirfd) : undefined;
      if (to) this.attached.push(to.path);
      if (!from || !to || !from.path.startsWith("fs:")) return;
      for (const [p] of this.below(to.path)) this.tree.delete(to.path + p);
      from.path = to.path;
    });
  }
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr = 0): void {
    this.rec("mount_setattr", [dirfd, path, flags, attrSet, attrClr], () => undefined);
  }
  fsopen(fstype: string, flags: number): number {
    return this.rec("fsopen", [fstype, flags], () => this.newFd(`fs:${fstype}`));
  }
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux = 0): void {
    this.rec("fsconfig", [fd, cmd, key, value, aux], () => undefined);
  }
  fsmount(fd: number, flags: number, attrFlags: number): number {
    return this.rec("fsmount", [fd, flags, attrFlags], () => this.newFd(this.fds.get(fd)?.path ?? "mnt"));
  }
  openat2(dirfd: number, path: string, flags: number, resolve: number): number {
    const args = [dirfd, path, flags, resolve];
    return this.rec("openat2", args, () => {
      // The path is looked up in the tree `dirfd` holds (the copy of the host's, for open_tree's
      // descriptors), from the directory it names; RESOLVE_IN_ROOT: as if that directory were "/".
      const from = this.fds.get(dirfd);
      const tree = from?.tree ?? this.tree;
      const base = from?.path ?? "/";
      const [at, node] = (resolve & RESOLVE_IN_ROOT) !== 0 ? this.resolveInRoot(base, path, tree) : this.resolve(path.startsWith("/") ? path : `${base}/${path}`, true, tree);
      if ((resolve & RESOLVE_NO_SYMLINKS) !== 0 && this.crossesLink(path.startsWith("/") ? path : `${base}/${path}`, tree)) throw SysError.fromErrno("openat2", args, 40 /* ELOOP */);
      if (node === undefined) this.enoent("openat2", args);
      return this.newFd(at, tree);
    });
  }

  /** Whether a component of `path` is a symlink (RESOLVE_NO_SYMLINKS refuses it). */
  private crossesLink(path: string, tree: Map<string, FakeNode>): boolean {
    let cur = "";
    for (const part of norm(path).split("/").filter(Boolean)) {
      cur += `/${part}`;
      const node = tree.get(cur);
      if (node !== undefined && typeof node === "object") return true;
    }
    return false;
  }

  /** `path` looked up from `root` as if it were "/": absolute symlinks and ".." stay below it. */
  private resolveInRoot(root: string, path: string, tree: Map<string, FakeNode>): [string, FakeNode | undefined] {
    const prefix = root === "/" ? "" : norm(root);
    const parts = path.split("/").filter((p) => p !== "" && p !== ".");
    const done: string[] = [];
    for (let hops = 0; parts.length > 0; ) {
      const part = parts.shift()!;
      if (part === "..") {
        done.pop();
        continue;
      }
      const node = tree.get(`${prefix}/${[...done, part].join("/")}`);
      if (node !== undefined && typeof node === "object") {
        if (++hops > 40) return [path, undefined];
        if (node.link.startsWith("/")) done.length = 0;
        parts.unshift(...node.link.split("/").filter((p) => p !== "" && p !== "."));
        continue;
      }
      done.push(part);
      if (node === undefined && parts.length > 0) return [path, undefined];
    }
    const at = done.length > 0 ? `${prefix}/${done.join("/")}` : prefix || "/";
    return [at, tree.get(at)];
  }
  openat(dirfd: number, path: string, flags: number, mode: number): number {
    const args = [dirfd, path, flags, mode];
    return this.rec("openat", args, () => {
      const at = this.at(dirfd, path);
      if ((flags & O_CREAT) !== 0 && !this.tree.has(at)) this.create("openat", args, at, "file");
      else if ((flags & O_EXCL) !== 0 || this.resolve(at, true)[1] === undefined) throw SysError.fromErrno("openat", args, this.tree.has(at) ? 17 : 2);
      return this.newFd(at);
    });
  }
  mkdirat(dirfd: number, path: string, mode: number): void {
    const args = [dirfd, path, mode];
    this.rec("mkdirat", args, () => this.create("mkdirat", args, this.at(dirfd, path), "dir"));
  }
  mknodat(dirfd: number, path: string, mode: number, dev: number | bigint): void {
    const args = [dirfd, path, mode, dev];
    this.rec("mknodat", args, () => this.create("mknodat", args, this.at(dirfd, path), "dev"));
  }
  symlinkat(target: string, dirfd: number, path: string): void {
    const args = [target, dirfd, path];
    this.rec("symlinkat", args, () => this.create("symlinkat", args, this.at(dirfd, path), { link: target }));
  }
  readlinkat(dirfd: number, path: string): string {
    const args = [dirfd, path];
    return this.rec("readlinkat", args, () => {
      const node = this.tree.get(this.at(dirfd, path));
      if (node === undefined || typeof node !== "object") throw SysError.fromErrno("readlinkat", args, node === undefined ? 2 : 22);
      return node.link;
    });
  }
  fchmodat(dirfd: number, path: string, mode: number, flags = 0): void {
    const args = flags ? [dirfd, path, mode, flags] : [dirfd, path, mode];
    this.rec("fchmodat", args, () => {
      if (this.resolve(this.at(dirfd, path), (flags & AT_SYMLINK_NOFOLLOW) === 0)[1] === undefined) this.enoent("fchmodat", args);
    });
  }
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
    const args = [dirfd, path, uid, gid, flags];
    this.rec("fchownat", args, () => {
      if (this.resolve(this.at(dirfd, path), (flags & AT_SYMLINK_NOFOLLOW) === 0)[1] === undefined) this.enoent("fchownat", args);
    });
  }
  /** The path `path` names from the descriptor `dirfd` (AT_FDCWD: "/"). */
  private at(dirfd: number, path: string): string {
    if (path.startsWith("/")) return norm(path);
    return norm(`${this.fds.get(dirfd)?.path ?? "/"}/${path}`);
  }
  read(fd: number, buf: Uint8Array): number {
    return this.rec("read", [fd, buf.byteLength], () => 0);
  }
  close(fd: number): void {
    this.rec("close", [fd], () => void this.fds.delete(fd));
  }
  exists(path: string): boolean {
    return this.rec("exists", [path], () => this.resolve(path, true)[1] !== undefined);
  }
  lstat(path: string): FileKind {
    return this.rec("lstat", [path], () => kind(this.resolve(path, false)[1]) ?? this.enoent("lstat", [path]));
  }
  stat(path: string): FileKind {
    return this.rec("stat", [path], () => kind(this.resolve(path, true)[1]) ?? this.enoent("stat", [path]));
  }
  fstat(fd: number): FileKind {
    return this.rec("fstat", [fd], () => {
      const f = this.fds.get(fd);
      return kind(f === undefined ? undefined : this.resolve(f.path, true, f.tree)[1]) ?? this.enoent("fstat", [fd]);
    });
  }
  readlink(path: string): string {
    return this.rec("readlink", [path], () => {
      const node = this.resolve(path, false)[1];
      if (node === undefined || typeof node !== "object") throw SysError.fromErrno("readlink", [path], node === undefined ? 2 : 22);
      return node.link;
    });
  }
  mkdir(path: string, mode = 0o777): void {
    const args = [path, mode];
    this.rec("mkdir", args, () => this.create("mkdir", args, path, "dir"));
  }
  mkdirp(path: string): void {
    this.rec("mkdirp", [path], () => {
      if (this.resolve(path, true)[1] === undefined) this.add(this.resolve(path, true)[0], "dir");
    });
  }
  createFile(path: string): void {
    const args = [path, O_WRONLY | O_CREAT | O_APPEND, 0o666];
    this.rec("open", args, () => {
      if (this.resolve(path, true)[1] === undefined) this.create("open", args, path, "file");
    });
  }
  symlink(target: string, path: string): void {
    const args = [target, path];
    this.rec("symlink", args, () => this.create("symlink", args, path, { link: target }));
  }
  chmod(path: string, mode: number): void {
    this.rec("chmod", [path, mode], () => {
      if (this.resolve(path, true)[1] === undefined) this.enoent("chmod", [path, mode]);
    });
  }
  writeFile(path: string, text: string): void {
    this.rec("write", [path, text], () => undefined);
  }
  /** The program's instructions, as each bpf(BPF_PROG_LOAD) gave them. */
  readonly programs: Uint8Array[] = [];
  bpfProgLoad(progType: number, insns: Uint8Array, license: string): number {
    return this.rec("bpf", [BPF_PROG_LOAD, progType, insns.length / 8, license], () => {
      this.programs.push(insns);
      return this.newFd("bpf-prog");
    });
  }
  bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags: number): void {
    this.rec("bpf", [BPF_PROG_ATTACH, targetFd, progFd, attachType, flags], () => undefined);
  }
  /** prctl answers 0 (PR_CAPBSET_DROP of a capability above 40 fails EINVAL, as on a kernel that lacks it). */
  prctl(option: number, arg2 = 0, arg3 = 0): number {
    // A third argument is kept when set, and always for PR_CAP_AMBIENT_RAISE and _LOWER (2, 3), whose 0 is CAP_CHOWN.
    const third = arg3 !== 0 || (option === 47 /* PR_CAP_AMBIENT */ && (arg2 === 2 || arg2 === 3));
    return this.rec("prctl", [option, arg2, arg3].slice(0, third ? 3 : 2), () => {
      if (option === 24 /* PR_CAPBSET_DROP */ && arg2 > 40) throw SysError.fromErrno("prctl", [option, arg2], 22);
      return 0;
    });
  }
  /** Every capability, in each set (override with on("capget", ...)). */
  capget(): CapSets {
    return this.rec("capget", [0], () => ({ effective: FULL_CAPS, permitted: FULL_CAPS, inheritable: 0n }));
  }
  capset(sets: CapSets): void {
    this.rec("capset", [sets], () => undefined);
  }
  setgroups(groups: readonly number[]): void {
    this.rec("setgroups", [groups.length, [...groups]], () => undefined);
  }
  setresgid(rgid: number, egid: number, sgid: number): void {
    this.rec("setresgid", [rgid, egid, sgid], () => undefined);
  }
  setresuid(ruid: number, euid: number, suid: number): void {
    this.rec("setresuid", [ruid, euid, suid], () => undefined);
  }
  /** Recorded with a summary of the filter: default action, rule and name counts. */
  seccompLoad(rules: SeccompRules): void {
    const names = rules.rules.reduce((n, r) => n + r.names.length, 0);
    this.rec("seccomp_load", [`{default=0x${rules.defaultAction.toString(16)}, rules=${rules.rules.length}, names=${names}}`], () => undefined);
  }
  /** By default the kernel's plain acknowledgement: NLMSG_ERROR with error 0 and the request's header (NLM_F_CAPPED). */
  netlink(protocol: number, request: Uint8Array): Uint8Array {
    return this.rec("netlink", [protocol, request], () => {
      const ack = new Uint8Array(36);
      const v = new DataView(ack.buffer);
      v.setUint32(0, 36, true);
      v.setUint16(4, 2, true); // NLMSG_ERROR
      v.setUint16(6, 0x100, true); // NLM_F_CAPPED
      v.setUint32(8, request.byteLength >= 12 ? new DataView(request.buffer, request.byteOffset).getUint32(8, true) : 0, true);
      ack.set(request.subarray(0, 16), 20);
      return ack;
    });
  }

  // cgroupfs and other kernel files, stage 1, a command's process
  readFile(path: string): string {
    return this.rec("readFile", [path], () => {
      const [p, node] = this.resolve(path, true);
      if (node === undefined || node === "dir") throw SysError.fromErrno("readFile", [path], node === undefined ? 2 : 21);
      return this.texts.get(p) ?? "";
    });
  }
  readdir(path: string): DirEntry[] {
    return this.rec("readdir", [path], () => {
      const [dir, node] = this.resolve(path, true);
      if (node !== "dir") throw SysError.fromErrno("readdir", [path], node === undefined ? 2 : 20);
      const prefix = dir === "/" ? "/" : dir + "/";
      const out: DirEntry[] = [];
      for (const [p, n] of this.tree) if (p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes("/")) out.push({ name: p.slice(prefix.length), ...kind(n)! });
      return out;
    });
  }
  /** Like cgroupfs: the directory goes with the files in it; EBUSY while a sub-directory is left. */
  rmdir(path: string): void {
    this.rec("rmdir", [path], () => {
      const [dir, node] = this.resolve(path, false);
      if (node === undefined) this.enoent("rmdir", [path]);
      if (node !== "dir") throw SysError.fromErrno("rmdir", [path], 20);
      const below = this.below(dir);
      if (below.some(([, n]) => n === "dir")) throw SysError.fromErrno("rmdir", [path], 16);
      for (const [p] of below) this.tree.delete(dir + p);
      this.tree.delete(dir);
    });
  }
  open(path: string, flags: number): number {
    const args = [path, flags];
    return this.rec("open", args, () => {
      const p = this.resolve(path, true)[0];
      if (this.resolve(path, true)[1] === undefined) {
        if ((flags & O_CREAT) === 0) this.enoent("open", args);
        this.create("open", args, path, "file");
      }
      return this.newFd(p);
    });
  }
  write(fd: number, text: string): number {
    return this.rec("write", [fd, text], () => text.length);
  }
  pread(fd: number, buf: Uint8Array, offset: number): number {
    return this.rec("pread", [fd, buf.byteLength, offset], () => {
      const f = this.fds.get(fd);
      const bytes = new TextEncoder().encode(f ? (this.texts.get(f.path) ?? "") : "").subarray(offset);
      const n = Math.min(bytes.length, buf.byteLength);
      buf.set(bytes.subarray(0, n));
      return n;
    });
  }
  pwrite(fd: number, text: string, offset: number): number {
    return this.rec("pwrite", [fd, text, offset], () => text.length);
  }
  unshare(flags: number): void {
    this.rec("unshare", [flags], () => undefined);
  }
  setrlimit(resource: number, soft: bigint, hard: bigint): void {
    this.rec("setrlimit", [resource, soft, hard], () => undefined);
  }
  resetSignals(): void {
    this.rec("resetSignals", [], () => undefined);
  }
  /** A successful execve never returns: the recorder throws ExecveCalled instead (after recording it). */
  execve(path: string, argv: readonly string[], envp: readonly string[]): never {
    return this.rec("execve", [path, [...argv], [...envp]], () => {
      throw new ExecveCalled(path);
    });
  }
  /** By default an empty dump: one NLMSG_DONE with the request's sequence number. */
  netlinkDump(protocol: number, request: Uint8Array): Uint8Array {
    return this.rec("netlink-dump", [protocol, request], () => {
      const done = new Uint8Array(20);
      new DataView(done.buffer).setUint32(0, 20, true);
      done.set([3, 0, 2, 0], 4); // NLMSG_DONE, NLM_F_MULTI
      done.set(request.subarray(8, 12), 8); // the request's nlmsg_seq
      return done;
    });
  }
}

/** What RecordingSys.execve throws where the real one would have replaced the process. */
export class ExecveCalled extends Error {
  constructor(readonly path: string) {
    super(`execve("${path}") would have replaced this process`);
  }
}

/** What the recording double answers capget with: every capability of this file's kernel (0..40). */
const FULL_CAPS = (1n << 41n) - 1n;

function norm(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function kind(node: FakeNode | undefined): FileKind | undefined {
  if (node === undefined) return undefined;
  return {
    isDirectory: () => node === "dir",
    isFile: () => node === "file",
    isSymbolicLink: () => typeof node === "object",
  };
}
