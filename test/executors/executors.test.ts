// PID 1's executors run against a RecordingSys (native/recording.ts): no root, no kernel,
// no file system. Each test plans a statement as a script would, runs its ops through
// execute() and reads the calls the executors made, in order (effects(): look-ups such
// as exists and lstat are left out) — or, where a look-up decides the branch, all calls.

import { describe, expect, test } from "bun:test";
import { SysError } from "../../native/index.ts";
import { execute } from "../../runtime/agent.ts";
import type { AgentState } from "../../runtime/ops.ts";
import type { FakeNode, RecordingSys } from "../../native/recording.ts";
import { planOps, recordingState } from "./helpers.ts";

/**
 * Plan `text` and execute its PID 1 ops (not run/exec: they start processes) on a fresh
 * recorder, up to the first that fails (its error is returned, as PID 1 would report it).
 */
async function runOps(text: string, files: Record<string, FakeNode> = {}, script?: (sys: RecordingSys) => void): Promise<{ sys: RecordingSys; st: AgentState; error?: SysError }> {
  const { st, sys } = recordingState(files);
  script?.(sys);
  for (const op of planOps(text)) {
    if (op.side !== "pid1" || op.kind === "run" || op.kind === "exec") continue;
    try {
      await execute(st, op);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      return { sys, st, error: e };
    }
  }
  return { sys, st };
}

const HOST_TREE = 'open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE|AT_RECURSIVE|OPEN_TREE_CLOEXEC)';

describe("UTS names", () => {
  test("hostname and domainname: one sethostname and one setdomainname, with the names as given", async () => {
    const { sys } = await runOps("ns uts\nhostname box\ndomainname example.org");
    expect(sys.effects()).toEqual(['sethostname("box")', 'setdomainname("example.org")']);
  });

  test("a failing sethostname is the op's error, with the call's errno", async () => {
    const { error } = await runOps("ns uts\nhostname box", {}, (sys) => sys.fail("sethostname", "EPERM"));
    expect(error?.code).toBe("EPERM");
    expect(error?.message).toBe('sethostname("box"): EPERM (operation not permitted)');
  });
});

describe("net lo", () => {
  test("up and down: one NETLINK_ROUTE request each, RTM_NEWLINK for \"lo\" setting then clearing IFF_UP", async () => {
    const { sys } = await runOps("ns net\nnet lo up\nnet lo down");
    const reqs = sys.calls.filter((c) => c.name === "netlink").map((c) => c.args as [number, Uint8Array]);
    expect(reqs.map(([proto]) => proto)).toEqual([0, 0]);
    const fields = reqs.map(([, b]) => {
      const v = new DataView(b.buffer, b.byteOffset);
      return { type: v.getUint16(4, true), flags: v.getUint16(6, true), ifiFlags: v.getUint32(24, true), change: v.getUint32(28, true), name: Buffer.from(b.subarray(36, 38)).toString() };
    });
    expect(fields).toEqual([
      { type: 16, flags: 5, ifiFlags: 1, change: 1, name: "lo" },
      { type: 16, flags: 5, ifiFlags: 0, change: 1, name: "lo" },
    ]);
  });

  test("a refusal by the kernel is the op's error: the message type, the link, errno and the kernel's text", async () => {
    const { error } = await runOps("ns net\nnet lo up", {}, (sys) =>
      sys.on("netlink", (args) => {
        const req = args[1] as Uint8Array;
        const text = new TextEncoder().encode("no loopback here\0");
        const ans = new Uint8Array(16 + 4 + req.length + 4 + 20);
        const v = new DataView(ans.buffer);
        v.setUint32(0, ans.length, true);
        v.setUint16(4, 2, true); // NLMSG_ERROR
        v.setUint16(6, 0x200, true); // NLM_F_ACK_TLVS
        v.setUint32(8, new DataView(req.buffer, req.byteOffset).getUint32(8, true), true);
        v.setInt32(16, -1, true); // EPERM
        ans.set(req, 20);
        v.setUint16(20 + req.length, 4 + text.length, true);
        v.setUint16(22 + req.length, 1, true); // NLMSGERR_ATTR_MSG
        ans.set(text, 24 + req.length);
        return ans;
      }),
    );
    expect(error?.code).toBe("EPERM");
    expect(error?.message).toBe("rtnetlink RTM_NEWLINK lo: EPERM (operation not permitted): no loopback here");
  });
});

describe("mount", () => {
  /** The effects without close(2): what changes something. */
  const changes = (sys: RecordingSys) => sys.effects().filter((c) => !c.startsWith("close("));
  const ROOT_AT = 'openat2(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)';
  const IN_ROOT = (fd: number, p: string) => `openat2(${fd}, "${p}", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)`;
  const ONTO = (from: number, to: number) => `move_mount(${from}, "", ${to}, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)`;

  test("mount proc: the copy of the host's tree, the target resolved in the root and made there, then a new proc attached on its descriptor", async () => {
    const { sys } = await runOps("ns pid, mnt\nmount proc");
    expect(changes(sys)).toEqual([
      HOST_TREE,
      ROOT_AT,
      IN_ROOT(101, "./proc"),
      'openat2(101, ".", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      IN_ROOT(101, "./proc"),
      'mkdirat(102, "proc", 0755)',
      IN_ROOT(101, "./proc"),
      'fsopen("proc", FSOPEN_CLOEXEC)',
      'fsconfig(104, FSCONFIG_SET_STRING, "source", "proc", 0)',
      "fsconfig(104, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(104, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC)",
      ONTO(105, 103),
    ]);
    expect(sys.attached).toEqual(["/proc"]);
    // every descriptor opened is closed
    const opened = sys.calls.filter((c) => typeof c.result === "number").map((c) => c.result);
    expect(sys.calls.filter((c) => c.name === "close").map((c) => c.args[0]).sort()).toEqual(opened.filter((fd) => fd !== 100).sort());
  });

  test("an existing mount point is not created again", async () => {
    const { sys } = await runOps("ns pid, mnt\nmount proc", { "/proc": "dir" });
    expect(sys.effectNames().filter((n) => n === "mkdirat")).toEqual([]);
    expect(changes(sys).slice(1, 3)).toEqual([ROOT_AT, IN_ROOT(101, "./proc")]);
  });

  test("mount tmpfs with options and ro: one fsconfig per option, ro a mount attribute", async () => {
    const { sys } = await runOps("ns mnt\nmount tmpfs /tmp ro size=1m", { "/tmp": "dir" });
    expect(changes(sys).slice(3)).toEqual([
      'fsopen("tmpfs", FSOPEN_CLOEXEC)',
      'fsconfig(103, FSCONFIG_SET_STRING, "source", "tmpfs", 0)',
      'fsconfig(103, FSCONFIG_SET_STRING, "size", "1m", 0)',
      "fsconfig(103, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(103, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV)",
      ONTO(104, 102),
    ]);
  });

  test("bind ro nosuid: the source in the host's tree, the target in the root, the copy made read-only before it is attached", async () => {
    const { sys } = await runOps("ns mnt\nmount bind /data /mnt ro nosuid", { "/data": "dir", "/mnt": "dir" });
    expect(changes(sys)).toEqual([
      HOST_TREE,
      'openat2(100, "./data", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      ROOT_AT,
      IN_ROOT(102, "./mnt"),
      'open_tree(101, "", OPEN_TREE_CLONE|AT_EMPTY_PATH|AT_RECURSIVE|OPEN_TREE_CLOEXEC)',
      'mount_setattr(104, "", AT_EMPTY_PATH|AT_RECURSIVE, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID, 0)',
      ONTO(104, 103),
    ]);
    expect(sys.effectNames()).not.toContain("mount");
  });

  test("bind of a file: the mount point is an empty file made in its parent's descriptor; no mount_setattr without flags", async () => {
    const { sys } = await runOps("ns mnt\nmount bind /etc/x /y", { "/etc/x": "file" });
    expect(changes(sys)).toContain('openat(103, "y", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0644)');
    expect(sys.effectNames()).not.toContain("mount_setattr");
    expect(sys.attached).toEqual(["/y"]);
  });

  test("a directory where a file is bound, a file where a directory mount goes: refused before anything is attached", async () => {
    const a = await runOps("ns mnt\nmount bind /etc/x /y", { "/etc/x": "file", "/y": "dir" });
    expect(a.error?.message).toBe('mount target "/y" is a directory: a file is bound there: EISDIR (is a directory)');
    const b = await runOps("ns mnt\nmount tmpfs /etc/hostname", { "/etc/hostname": "file" });
    expect(b.error?.message).toBe('mount target "/etc/hostname" is not a directory: ENOTDIR (not a directory)');
    expect([...a.sys.effectNames(), ...b.sys.effectNames()]).not.toContain("move_mount");
  });

  test("bind of a missing host path: the error names it as a host path, and nothing is mounted", async () => {
    const { sys, error } = await runOps("ns mnt\nmount bind /nope /mnt");
    expect(error?.message).toBe('bind source "/nope" does not exist on the host');
    expect(error?.hint).toBe("bind sources are host paths, looked up on the host whatever the container has mounted or entered");
    expect(sys.effectNames()).toEqual(["open_tree", "openat2"]);
    expect(sys.calls.at(-1)?.error).toBe("ENOENT");
  });

  test("overlay: the target, every layer opened in the host's tree, then fsopen, fsconfig per layer, create, fsmount, move_mount onto the target, closes", async () => {
    const { sys } = await runOps("ns mnt\nmount overlay /m lower=/a:/b upper=/u work=/w", { "/a": "dir", "/b": "dir", "/u": "dir", "/w": "dir", "/m": "dir" });
    const dir = "O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT";
    expect(sys.effects()).toEqual([
      HOST_TREE,
      ROOT_AT,
      IN_ROOT(101, "./m"),
      "close(101)",
      `openat2(100, "./a", ${dir})`,
      `openat2(100, "./b", ${dir})`,
      `openat2(100, "./u", ${dir})`,
      `openat2(100, "./w", ${dir})`,
      'fsopen("overlay", FSOPEN_CLOEXEC)',
      'fsconfig(107, FSCONFIG_SET_FD, "lowerdir+", NULL, 103)',
      'fsconfig(107, FSCONFIG_SET_FD, "lowerdir+", NULL, 104)',
      'fsconfig(107, FSCONFIG_SET_FD, "upperdir", NULL, 105)',
      'fsconfig(107, FSCONFIG_SET_FD, "workdir", NULL, 106)',
      "fsconfig(107, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(107, FSMOUNT_CLOEXEC, 0)",
      ONTO(108, 102),
      "close(108)",
      "close(103)",
      "close(104)",
      "close(105)",
      "close(106)",
      "close(107)",
      "close(102)",
    ]);
  });

  test("overlay whose create fails: the kernel's log is read, and every descriptor is still closed", async () => {
    const { sys, error } = await runOps("ns mnt\nmount overlay /m lower=/a:/b", { "/a": "dir", "/b": "dir", "/m": "dir" }, (sys) => {
      sys.fail("fsconfig", "EINVAL", (a) => a[2] === null); // FSCONFIG_CMD_CREATE
      let n = 0;
      sys.on("read", () => (n++ === 0 ? 25 : 0)); // one line in the context's log
    });
    expect(error?.code).toBe("EINVAL");
    expect(error?.message).toContain(": the kernel says ");
    expect(sys.effects().slice(-6)).toEqual(["read(105, 512)", "read(105, 512)", "close(103)", "close(104)", "close(105)", "close(102)"]);
    expect(sys.effectNames()).not.toContain("fsmount");
  });

  test("mount dev: a tmpfs attached on the target, then six device nodes each chmod'ed past the umask, the links, pts and shm, all relative to the tmpfs's descriptor", async () => {
    const { sys } = await runOps("ns mnt\nmount dev", { "/dev": "dir" });
    const nodes = [["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0]] as const;
    expect(changes(sys).slice(3)).toEqual([
      'fsopen("tmpfs", FSOPEN_CLOEXEC)',
      'fsconfig(103, FSCONFIG_SET_STRING, "source", "tmpfs", 0)',
      'fsconfig(103, FSCONFIG_SET_STRING, "mode", "755", 0)',
      'fsconfig(103, FSCONFIG_SET_STRING, "size", "65536k", 0)',
      "fsconfig(103, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(103, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NOEXEC)",
      ONTO(104, 102),
      ...nodes.flatMap(([n, ma, mi]) => [`mknodat(104, "${n}", S_IFCHR|0666, makedev(${ma}, ${mi}))`, `fchmodat(104, "${n}", 0666)`]),
      'symlinkat("pts/ptmx", 104, "ptmx")',
      'symlinkat("/proc/self/fd", 104, "fd")',
      'symlinkat("/proc/self/fd/0", 104, "stdin")',
      'symlinkat("/proc/self/fd/1", 104, "stdout")',
      'symlinkat("/proc/self/fd/2", 104, "stderr")',
      'mkdirat(104, "pts", 0755)',
      'mkdirat(104, "shm", 0755)',
      'fchmodat(104, "shm", 01777)',
    ]);
  });

  test("mount dev ro where mknod is refused (a user namespace): the host's nodes are bound on empty files instead, then the tmpfs made read-only", async () => {
    const devs = Object.fromEntries(["null", "zero", "full", "random", "urandom", "tty"].map((n) => [`/dev/${n}`, "dev" as const]));
    const { sys } = await runOps("ns mnt, user\nmount dev ro", { ...devs }, (sys) => sys.fail("mknodat", "EPERM"));
    const names = sys.effectNames();
    expect(names.filter((n) => n === "mknodat")).toHaveLength(1); // the first refusal decides for all
    expect(names.filter((n) => n === "move_mount")).toHaveLength(7); // the tmpfs, then six nodes
    expect(sys.attached.slice(1)).toEqual(["null", "zero", "full", "random", "urandom", "tty"].map((n) => `/dev/${n}`));
    expect(sys.effects().filter((c) => !c.startsWith("close(")).at(-1)).toBe('mount_setattr(104, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0)');
  });

  test("a mount failure is the op's error and stops the op", async () => {
    const { sys, error } = await runOps("ns mnt\nmount proc\nmount tmpfs /tmp", {}, (sys) => sys.fail("fsmount", "EPERM"));
    expect(error?.code).toBe("EPERM");
    expect(error?.message).toBe("fsmount(104, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC): EPERM (operation not permitted)");
    expect(sys.effectNames()).not.toContain("move_mount");
    expect(sys.calls.filter((c) => c.name === "fsopen")).toHaveLength(1);
  });
});

describe("rootfs and entering it", () => {
  test("rootfs DIR (pivot): bind onto itself, /etc files bound only where the rootfs has them, each on its descriptor in the root; enter: chdir, pivot_root, detach, chdir /", async () => {
    const { sys, st } = await runOps("ns mnt\nrootfs /srv/root\nrun true", { "/srv/root": "dir", "/srv/root/etc/hosts": "file" });
    const made = sys.effects().filter((c) => !c.startsWith("close(") && !c.startsWith("openat2("));
    expect(made).toEqual([
      HOST_TREE,
      'mount("/srv/root", "/srv/root", NULL, MS_BIND|MS_REC)',
      'open_tree(AT_FDCWD, "/run/ctr/ID/hosts", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC)',
      'move_mount(104, "", 103, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
      'chdir("/srv/root")',
      'pivot_root(".", ".")',
      'umount2(".", MNT_DETACH)',
      'chdir("/")',
    ]);
    expect(sys.attached).toEqual(["/srv/root/etc/hosts"]);
    expect(st.entered).toBe(true);
    expect(st.pendingRoot).toBeNull();
  });

  test("an /etc file that is a symlink to a host path: resolved inside the root, never bound on the host's file", async () => {
    const { sys } = await runOps("ns mnt\nrootfs /srv/root\nrun true", { "/srv/root": "dir", "/srv/root/etc/hosts": { link: "/etc/real-hosts" }, "/srv/root/etc/real-hosts": "file", "/etc/real-hosts": "file" });
    expect(sys.attached).toEqual(["/srv/root/etc/real-hosts"]);
  });

  test("chroot DIR: the same preparation; enter: chdir, chroot(\".\"), chdir /", async () => {
    const { sys } = await runOps("ns mnt\nchroot /srv/root\nrun true", { "/srv/root": "dir" });
    const made = sys.effects().filter((c) => !c.startsWith("close(") && !c.startsWith("openat2("));
    expect(made).toEqual([HOST_TREE, 'mount("/srv/root", "/srv/root", NULL, MS_BIND|MS_REC)', 'chdir("/srv/root")', 'chroot(".")', 'chdir("/")']);
  });

  test("rootfs default: a tmpfs for the upper layer, upper/ and work/ in it, the overlay, the /etc files", async () => {
    // The files bound over /etc are found through the overlay, in its lower layer.
    const lower = "/var/cache/ctr/rootfs/default/rootfs";
    const { sys } = await runOps("ns mnt\nrootfs default\nrun true", {
      "/run/ctr/ID/scratch": "dir",
      "/run/ctr/ID/root": "dir",
      [`${lower}/etc/hostname`]: "file",
      [`${lower}/etc/hosts`]: "file",
      [`${lower}/etc/resolv.conf`]: "file",
    });
    expect(sys.effects().slice(1, 5)).toEqual([
      'mount("tmpfs", "/run/ctr/ID/scratch", "tmpfs", 0, "mode=755")',
      'mkdir("/run/ctr/ID/scratch/upper", 0777)',
      'mkdir("/run/ctr/ID/scratch/work", 0777)',
      'mount("overlay", "/run/ctr/ID/root", "overlay", 0, "lowerdir=/var/cache/ctr/rootfs/default/rootfs,upperdir=/run/ctr/ID/scratch/upper,workdir=/run/ctr/ID/scratch/work")',
    ]);
    expect(sys.effects().filter((c) => c.startsWith("open_tree(AT_FDCWD, \"/run"))).toHaveLength(3);
    expect(sys.attached).toEqual(["hostname", "hosts", "resolv.conf"].map((f) => `/run/ctr/ID/root/etc/${f}`));
  });

  test("before the root is entered, mount targets are resolved inside it, its symlinks followed inside it", async () => {
    const { sys } = await runOps("ns mnt\nrootfs /srv/root\nmount tmpfs /tmp\nmount tmpfs /var/../run\nrun true", {
      "/srv/root": "dir",
      "/srv/root/var/tmp": "dir",
      "/srv/root/srv/x": "dir",
      "/srv/root/tmp": { link: "/var/tmp" }, // absolute: from the new root, not the host's /var
      "/srv/root/run": { link: "../../../srv/x" }, // ".." stops at the new root
      "/var/tmp": "dir",
      "/srv/x": "dir",
    });
    expect(sys.attached).toEqual(["/srv/root/var/tmp", "/srv/root/srv/x"]);
  });

  test("a symlink in the root to a host path, dangling inside the root: its target is made inside the root, nothing on the host", async () => {
    const { sys, error } = await runOps("ns mnt\nrootfs /srv/root\nmount tmpfs /mnt/t/sub\nmount tmpfs /var/run\nrun true", {
      "/srv/root": "dir",
      "/srv/root/mnt/t": { link: "/hostdir" },
      "/srv/root/var/run": { link: "../../../../run" }, // relative, climbing: stops at the root
      "/hostdir": "dir",
    });
    expect(error).toBeUndefined();
    expect(sys.attached).toEqual(["/srv/root/hostdir/sub", "/srv/root/run"]);
    // made: the links' targets, inside the root; the links themselves were there (EEXIST)
    expect(sys.calls.filter((c) => c.name === "mkdirat" && !c.error).map((c) => c.args[1])).toEqual(["hostdir", "sub", "run"]);
    expect(sys.calls.filter((c) => c.name === "mkdirat" && c.error).map((c) => [c.args[1], c.error])).toEqual([["t", "EEXIST"], ["run", "EEXIST"]]);
  });

  test("a missing rootfs directory: the error says so and nothing is mounted", async () => {
    const { sys, error } = await runOps("ns mnt\nrootfs /srv/none");
    expect(error?.message).toBe('rootfs "/srv/none" does not exist');
    expect(sys.effectNames()).toEqual(["open_tree"]);
  });

  test("enter-root without a prepared root does nothing", async () => {
    const { st, sys } = recordingState();
    await execute(st, { kind: "enter-root", mode: "pivot", side: "pid1", span: { file: "t", line: 1, column: 1, offset: 0, length: 1 }, source: "run true", explain: [] });
    expect(sys.calls).toEqual([]);
  });
});
