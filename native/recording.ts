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
// line formatCall renders. Look-ups (exists, lstat, stat, fstat, readlink) are recorded too,
// but effects() leaves them out: they decide a branch, they change nothing.
//
// The tree: paths the test declares ("dir", "file", or { link: target }) plus what the
// recorded calls create (mkdir, mkdirp, open, symlink, mknod). Nothing else exists, so a
// look-up of an undeclared path fails with ENOENT. mount(2) of a new filesystem empties
// its mount point (an overlay shows what its lowerdir layers hold); binds change nothing.
// open_tree copies the tree, and openat2 from that descriptor looks in the copy, so host
// paths stay what they were when PID 1 took its copy of the host's tree. Descriptors (open_tree, openat2,
// fsopen, fsmount) are numbered from 100. Pure JavaScript: no koffi, no file system.

import { AT_FDCWD, MS_BIND, MS_REMOUNT, O_APPEND, O_CREAT, O_WRONLY } from "./constants.ts";
import { errnoNumber, SysError } from "./error.ts";
import { formatCall } from "./format.ts";
import type { FileKind, Sys } from "./seam.ts";

export type FakeNode = "dir" | "file" | "dev" | { link: string };

/** One recorded call. */
export interface RecordedCall {
  name: string;
  args: unknown[];
  /** formatCall(name, args): `mount("proc", "/proc", "proc", MS_NOSUID)`. */
  call: string;
  /** The errno name, when the call failed (scripted, or the tree's answer: ENOENT, EEXIST). */
  error?: string;
}

const QUERIES = new Set(["exists", "lstat", "stat", "fstat", "readlink"]);

type Handler = (args: unknown[]) => unknown;

export class RecordingSys implements Sys {
  readonly calls: RecordedCall[] = [];
  private readonly tree = new Map<string, FakeNode>([["/", "dir"]]);
  /** Open descriptors: the path each names, in the tree it was opened in (open_tree clones one). */
  private readonly fds = new Map<number, { path: string; tree: Map<string, FakeNode> }>();
  private nextFd = 100;
  private readonly failures: { name: string; code: string; when: (args: unknown[]) => boolean }[] = [];
  private readonly handlers = new Map<string, Handler>();

  constructor(files: Record<string, FakeNode> = {}) {
    for (const [path, node] of Object.entries(files)) this.add(path, node);
  }

  /** Declare a path (its missing parents become directories). */
  add(path: string, node: FakeNode): void {
    const p = norm(path);
    for (let d = parent(p); d !== "/" && !this.tree.has(d); d = parent(d)) this.tree.set(d, "dir");
    this.tree.set(p, node);
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
    const entry: RecordedCall = { name, args, call: formatCall(name, args) };
    this.calls.push(entry);
    const f = this.failures.find((x) => x.name === name && x.when(args));
    if (f) {
      entry.error = f.code;
      throw SysError.fromErrno(name, args, errnoNumber(f.code) ?? 0);
    }
    const h = this.handlers.get(name);
    try {
      return h ? (h(args) as T) : model();
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
  moveMount(fromFd: number, fromPath: string, toPath: string, flags: number): void {
    this.rec("move_mount", [fromFd, fromPath, AT_FDCWD, toPath, flags], () => undefined);
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
      // RESOLVE_IN_ROOT: the path is looked up in the tree `dirfd` holds (the copy of the host's).
      const tree = this.fds.get(dirfd)?.tree ?? this.tree;
      const abs = norm(path.replace(/^\.(?=\/)/, ""));
      if (this.resolve(abs, true, tree)[1] === undefined) this.enoent("openat2", args);
      return this.newFd(abs, tree);
    });
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
  mkdir(path: string): void {
    const args = [path, 0o777];
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
