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
  test("mount proc: the copy of the host's tree first, then the mount point, then mount(2) with proc's flags", async () => {
    const { sys } = await runOps("ns pid, mnt\nmount proc");
    expect(sys.effects()).toEqual([HOST_TREE, 'mkdirp("/proc")', 'mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC)']);
  });

  test("an existing mount point is not created again", async () => {
    const { sys } = await runOps("ns pid, mnt\nmount proc", { "/proc": "dir" });
    expect(sys.calls.map((c) => c.call).slice(1)).toEqual(['exists("/proc")', 'mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC)']);
  });

  test("mount tmpfs with options and ro: the data string and MS_RDONLY go to mount(2)", async () => {
    const { sys } = await runOps("ns mnt\nmount tmpfs /tmp ro size=1m");
    expect(sys.effects().slice(1)).toEqual(['mkdirp("/tmp")', 'mount("tmpfs", "/tmp", "tmpfs", MS_RDONLY|MS_NOSUID|MS_NODEV, "size=1m")']);
  });

  test("bind ro nosuid: openat2 in the host's tree, open_tree of the source, move_mount, then the remount with every flag", async () => {
    const { sys } = await runOps("ns mnt\nmount bind /data /mnt ro nosuid", { "/data": "dir" });
    expect(sys.effects()).toEqual([
      HOST_TREE,
      'openat2(100, "./data", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      'mkdirp("/mnt")',
      'open_tree(101, "", OPEN_TREE_CLONE|AT_EMPTY_PATH|AT_RECURSIVE|OPEN_TREE_CLOEXEC)',
      "close(101)",
      'move_mount(102, "", AT_FDCWD, "/mnt", MOVE_MOUNT_F_EMPTY_PATH)',
      "close(102)",
      'mount(NULL, "/mnt", NULL, MS_RDONLY|MS_NOSUID|MS_REMOUNT|MS_BIND)',
    ]);
  });

  test("bind of a file: the mount point is an empty file; no remount without flags", async () => {
    const { sys } = await runOps("ns mnt\nmount bind /etc/x /y", { "/etc/x": "file" });
    expect(sys.effects().slice(2, 4)).toEqual(['mkdirp("/")', 'open("/y", O_WRONLY|O_CREAT|O_APPEND, 0666)']);
    expect(sys.effectNames().slice(-3)).toEqual(["close", "move_mount", "close"]);
  });

  test("bind of a missing host path: the error names it as a host path, and nothing is mounted", async () => {
    const { sys, error } = await runOps("ns mnt\nmount bind /nope /mnt");
    expect(error?.message).toBe('bind source "/nope" does not exist on the host');
    expect(error?.hint).toBe("bind sources are host paths, looked up on the host whatever the container has mounted or entered");
    expect(sys.effectNames()).toEqual(["open_tree", "openat2"]);
    expect(sys.calls.at(-1)?.error).toBe("ENOENT");
  });

  test("overlay: every layer opened in the host's tree, then fsopen, fsconfig per layer, create, fsmount, move_mount, closes", async () => {
    const { sys } = await runOps("ns mnt\nmount overlay /m lower=/a:/b upper=/u work=/w", { "/a": "dir", "/b": "dir", "/u": "dir", "/w": "dir" });
    const dir = "O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT";
    expect(sys.effects()).toEqual([
      HOST_TREE,
      'mkdirp("/m")',
      `openat2(100, "./a", ${dir})`,
      `openat2(100, "./b", ${dir})`,
      `openat2(100, "./u", ${dir})`,
      `openat2(100, "./w", ${dir})`,
      'fsopen("overlay", FSOPEN_CLOEXEC)',
      'fsconfig(105, FSCONFIG_SET_FD, "lowerdir+", NULL, 101)',
      'fsconfig(105, FSCONFIG_SET_FD, "lowerdir+", NULL, 102)',
      'fsconfig(105, FSCONFIG_SET_FD, "upperdir", NULL, 103)',
      'fsconfig(105, FSCONFIG_SET_FD, "workdir", NULL, 104)',
      "fsconfig(105, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(105, FSMOUNT_CLOEXEC, 0)",
      'move_mount(106, "", AT_FDCWD, "/m", MOVE_MOUNT_F_EMPTY_PATH)',
      "close(106)",
      "close(101)",
      "close(102)",
      "close(103)",
      "close(104)",
      "close(105)",
    ]);
  });

  test("overlay whose create fails: the kernel's log is read, and every descriptor is still closed", async () => {
    const { sys, error } = await runOps("ns mnt\nmount overlay /m lower=/a:/b", { "/a": "dir", "/b": "dir" }, (sys) => {
      sys.fail("fsconfig", "EINVAL", (a) => a[2] === null); // FSCONFIG_CMD_CREATE
      let n = 0;
      sys.on("read", () => (n++ === 0 ? 25 : 0)); // one line in the context's log
    });
    expect(error?.code).toBe("EINVAL");
    expect(error?.message).toContain(": the kernel says ");
    expect(sys.effects().slice(-5)).toEqual(["read(103, 512)", "read(103, 512)", "close(101)", "close(102)", "close(103)"]);
    expect(sys.effectNames()).not.toContain("fsmount");
  });

  test("mount dev: a tmpfs, six device nodes each chmod'ed past the umask, the links, pts and shm", async () => {
    const { sys } = await runOps("ns mnt\nmount dev", { "/dev": "dir" });
    const nodes = [["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0]] as const;
    expect(sys.effects().slice(1)).toEqual([
      'mount("tmpfs", "/dev", "tmpfs", MS_NOSUID|MS_NOEXEC, "mode=755,size=65536k")',
      ...nodes.flatMap(([n, ma, mi]) => [`mknod("/dev/${n}", S_IFCHR|0666, makedev(${ma}, ${mi}))`, `chmod("/dev/${n}", 0666)`]),
      'symlink("pts/ptmx", "/dev/ptmx")',
      'symlink("/proc/self/fd", "/dev/fd")',
      'symlink("/proc/self/fd/0", "/dev/stdin")',
      'symlink("/proc/self/fd/1", "/dev/stdout")',
      'symlink("/proc/self/fd/2", "/dev/stderr")',
      'mkdir("/dev/pts", 0777)',
      'mkdir("/dev/shm", 0777)',
      'chmod("/dev/shm", 01777)',
    ]);
  });

  test("mount dev ro where mknod is refused (a user namespace): the host's nodes are bound instead, then the read-only remount", async () => {
    const devs = Object.fromEntries(["null", "zero", "full", "random", "urandom", "tty"].map((n) => [`/dev/${n}`, "dev" as const]));
    const { sys } = await runOps("ns mnt, user\nmount dev ro", devs, (sys) => sys.fail("mknod", "EPERM"));
    const names = sys.effectNames();
    expect(names.filter((n) => n === "mknod")).toHaveLength(1); // the first refusal decides for all
    expect(names.filter((n) => n === "move_mount")).toHaveLength(6);
    expect(sys.effects()).toContain('move_mount(112, "", AT_FDCWD, "/dev/tty", MOVE_MOUNT_F_EMPTY_PATH)');
    expect(sys.effects().at(-1)).toBe('mount(NULL, "/dev", NULL, MS_RDONLY|MS_NOSUID|MS_NOEXEC|MS_REMOUNT|MS_BIND)');
  });

  test("a mount failure is the op's error and stops the op", async () => {
    const { sys, error } = await runOps("ns mnt\nmount proc\nmount tmpfs /tmp", {}, (sys) => sys.fail("mount", "EPERM"));
    expect(error?.code).toBe("EPERM");
    expect(error?.message).toBe('mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC): EPERM (operation not permitted)');
    expect(sys.calls.at(-1)?.call).toBe('mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC)');
  });
});

describe("rootfs and entering it", () => {
  test("rootfs DIR (pivot): bind onto itself, /etc files bound only where the rootfs has them; enter: chdir, pivot_root, detach, chdir /", async () => {
    const { sys, st } = await runOps("ns mnt\nrootfs /srv/root\nrun true", { "/srv/root": "dir", "/srv/root/etc/hosts": "file" });
    expect(sys.effects()).toEqual([
      HOST_TREE,
      'mount("/srv/root", "/srv/root", NULL, MS_BIND|MS_REC)',
      'mount("/run/ctr/ID/hosts", "/srv/root/etc/hosts", NULL, MS_BIND)',
      'chdir("/srv/root")',
      'pivot_root(".", ".")',
      'umount2(".", MNT_DETACH)',
      'chdir("/")',
    ]);
    expect(st.entered).toBe(true);
    expect(st.pendingRoot).toBeNull();
  });

  test("chroot DIR: the same preparation; enter: chdir, chroot(\".\"), chdir /", async () => {
    const { sys } = await runOps("ns mnt\nchroot /srv/root\nrun true", { "/srv/root": "dir" });
    expect(sys.effects()).toEqual([HOST_TREE, 'mount("/srv/root", "/srv/root", NULL, MS_BIND|MS_REC)', 'chdir("/srv/root")', 'chroot(".")', 'chdir("/")']);
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
    expect(sys.effects().slice(1, 8)).toEqual([
      'mount("tmpfs", "/run/ctr/ID/scratch", "tmpfs", 0, "mode=755")',
      'mkdir("/run/ctr/ID/scratch/upper", 0777)',
      'mkdir("/run/ctr/ID/scratch/work", 0777)',
      'mount("overlay", "/run/ctr/ID/root", "overlay", 0, "lowerdir=/var/cache/ctr/rootfs/default/rootfs,upperdir=/run/ctr/ID/scratch/upper,workdir=/run/ctr/ID/scratch/work")',
      'mount("/run/ctr/ID/hostname", "/run/ctr/ID/root/etc/hostname", NULL, MS_BIND)',
      'mount("/run/ctr/ID/hosts", "/run/ctr/ID/root/etc/hosts", NULL, MS_BIND)',
      'mount("/run/ctr/ID/resolv.conf", "/run/ctr/ID/root/etc/resolv.conf", NULL, MS_BIND)',
    ]);
  });

  test("before the root is entered, mount targets are joined inside it, its symlinks followed inside it", async () => {
    const { sys } = await runOps("ns mnt\nrootfs /srv/root\nmount tmpfs /tmp\nmount tmpfs /var/../run\nrun true", {
      "/srv/root": "dir",
      "/srv/root/tmp": { link: "/var/tmp" }, // absolute: from the new root, not the host's /var
      "/srv/root/run": { link: "../../../srv/x" }, // ".." stops at the new root
    });
    const mounts = sys.effects().filter((c) => c.startsWith('mount("tmpfs"'));
    expect(mounts).toEqual(['mount("tmpfs", "/srv/root/var/tmp", "tmpfs", MS_NOSUID|MS_NODEV)', 'mount("tmpfs", "/srv/root/srv/x", "tmpfs", MS_NOSUID|MS_NODEV)']);
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
