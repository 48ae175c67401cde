/**
 * Every bundled example, for real: `ctr check` accepts it, it runs to the end
 * with its own `expect` self-checks, and a probe command given as its argument
 * (the examples' non-interactive convention) reports from inside the container
 * what the chapter is about. After each test the host must be as it was
 * (test/integration/host-state.ts).
 */
import { describe, expect } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { hostname as osHostname } from "node:os";
import { example, EXAMPLES, hostNamespaces, itest, NS_PROBE, onHost, probe } from "./host-state.ts";

const CHAPTERS = ["01-clone.ctr", "02-uts.ctr", "03-ipc.ctr", "04-pid.ctr", "05-mount.ctr", "06-rootfs.ctr", "09-user.ctr", "13-exec.ctr", "14-run-it.ctr"];

describe("examples: ctr check", () => {
  itest("the chapters of this issue are all there", () => {
    const present = readdirSync(EXAMPLES);
    for (const c of CHAPTERS) expect(present).toContain(c);
  });
  for (const name of CHAPTERS) {
    itest(`${name} checks clean`, () =>
      onHost(async (h) => {
        const r = await h.ctr(["check", example(name)]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
      }),
    );
  }
});

describe("examples: run without arguments", () => {
  // PID 1 is /bin/sh when no command is given: here it reads its commands from a pipe.
  const PID1 = { "01-clone.ctr": false, "02-uts.ctr": false, "03-ipc.ctr": false, "04-pid.ctr": true, "05-mount.ctr": true, "06-rootfs.ctr": true, "09-user.ctr": true, "14-run-it.ctr": true };
  for (const [name, isPid1] of Object.entries(PID1)) {
    itest(`${name}: the default command is /bin/sh${isPid1 ? ", as PID 1" : ""}`, () =>
      onHost(async (h) => {
        const r = await h.ctr([example(name)], { stdin: 'echo "@@pid=$$"; echo "@@shell=$0"; exit 3\n' });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(3);
        const p = probe(r.stdout);
        if (isPid1) expect(p.pid).toBe("1");
        else expect(Number(p.pid)).toBeGreaterThan(1);
        expect(p.shell).toBe("/bin/sh");
      }),
    );
  }
});

describe("examples: run", () => {
  itest("01-clone: the command is an ordinary host process, every namespace shared", () =>
    onHost(async (h) => {
      const host = hostNamespaces();
      const r = await h.ctr([example("01-clone.ctr"), "sh", "-c", `echo "@@pid=$$"; echo "@@host=$(hostname)"; test -d /proc/${process.pid} && echo @@seesTest=yes; ${NS_PROBE}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(Number(p.pid)).toBeGreaterThan(1);
      expect(p.host).toBe(osHostname());
      expect(p.seesTest).toBe("yes"); // the test runner itself is in its /proc
      for (const [n, link] of Object.entries(host)) expect(p[`ns.${n}`]).toBe(link);
      // `show ns` printed every namespace as shared
      expect(r.stdout).toMatch(/^uts\s+uts:\[\d+\]\s+uts:\[\d+\]\s+shared with the host$/m);
      expect(r.stdout).not.toMatch(/\snew$/m);
    }),
  );

  itest("02-uts: the script's hostname inside, the host's unchanged", () =>
    onHost(async (h) => {
      const host = hostNamespaces();
      const hostName = osHostname();
      expect(hostName).not.toBe("container");
      const r = await h.ctr([example("02-uts.ctr"), "sh", "-c", `echo "@@host=$(hostname)"; echo "@@uname=$(uname -n)"; ${NS_PROBE}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.host).toBe("container");
      expect(p.uname).toBe("container");
      expect(p["ns.uts"]).not.toBe(host.uts);
      for (const n of ["ipc", "pid", "mnt", "net"]) expect(p[`ns.${n}`]).toBe(host[n]!);
      expect(osHostname()).toBe(hostName);
    }),
  );

  itest("03-ipc: a queue made on the host with ipcmk -Q is absent inside; one made inside never reaches the host", () =>
    onHost(async (h) => {
      const made = Bun.spawnSync(["ipcmk", "-Q"]);
      const id = /id:\s*(\d+)/.exec(made.stdout.toString())?.[1];
      expect(id).toBeDefined();
      try {
        const before = hostQueues();
        expect(before).toContain(id!);
        const r = await h.ctr([
          example("03-ipc.ctr"),
          "sh",
          "-c",
          `echo "@@inside=$(ipcs -q | grep -c '^0x')"; ipcmk -Q >/dev/null; echo "@@after=$(ipcs -q | grep -c '^0x')"; ${NS_PROBE}`,
        ]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const p = probe(r.stdout);
        expect(p.inside).toBe("0");
        expect(p.after).toBe("1");
        expect(p["ns.ipc"]).not.toBe(hostNamespaces().ipc);
        expect(hostQueues()).toEqual(before);
      } finally {
        Bun.spawnSync(["ipcrm", "-q", id!]);
      }
      expect(hostQueues()).not.toContain(id!);
    }),
  );

  itest("04-pid: the command is PID 1 of a new PID namespace", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("04-pid.ctr"), "sh", "-c", `echo "@@pid=$$"; while read -r k v; do [ "$k" = NSpid: ] && echo "@@nspid=$v"; done < /proc/self/status; ${NS_PROBE}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.pid).toBe("1");
      // /proc is still the host's here: NSpid shows the host PID, then 1
      expect(p.nspid).toMatch(/^\d+\s+1$/);
      expect(p["ns.pid"]).not.toBe(hostNamespaces().pid);
      // `show procs` listed PID 1 (ctr's init, before exec) with its host PID
      expect(r.stdout).toMatch(/^1\s+0\s+\d+\s+\S+\s+.*init/m);
    }),
  );

  itest("05-mount: /proc lists only the container's processes, the host's /proc is untouched", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("05-mount.ctr"), "sh", "-c", `echo "@@pid=$$"; set -- /proc/[0-9]*; echo "@@procs=$*"; ${PS}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.pid).toBe("1");
      expect(p.procs).toBe("/proc/1"); // the shell, PID 1, is the only process
      const ps = psLines(r.stdout);
      expect(ps).toHaveLength(2); // the shell and ps, nothing of the host
      expect(ps[0]!.slice(0, 3)).toEqual(["1", "0", "sh"]);
      expect(ps[1]!.slice(1, 3)).toEqual(["1", "ps"]);
      // The host's /proc still works (a /proc mount propagated to the host, as chapter 05 warns of, would fail here).
      expect(Bun.spawnSync(["ps", "-p", String(process.pid), "-o", "pid="]).stdout.toString().trim()).toBe(String(process.pid));
    }),
  );

  itest("06-rootfs: the default rootfs with proc, sys, tmp, dev, devpts, shm, run and the init files, and nothing of the host", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const marker = `${dir}/marker`;
      await Bun.write(marker, "host only\n");
      const r = await h.ctr([
        example("06-rootfs.ctr"),
        "sh",
        "-c",
        [
          `echo "@@pid=$$"`,
          `test -e ${marker} && echo @@marker=visible || echo @@marker=absent`,
          `test -e /usr/bin/perl && echo @@perl=yes || echo @@perl=no`,
          `test -c /dev/null && echo @@devnull=chr`,
          `echo "@@hostname=$(cat /etc/hostname)"`,
          `grep -q container /etc/hosts && echo @@hosts=ok`,
          // mount point (field 5) and filesystem type (after " - "), with the shell's own tools only
          `while read -r id parent dev root point rest; do set -- \${rest#* - }; echo "@@mnt.$point=$1"; done < /proc/self/mountinfo`,
        ].join("; "),
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.pid).toBe("1");
      expect(p.marker).toBe("absent");
      expect(p.perl).toBe("no"); // the host has it; the rootfs has only its few binaries
      expect(p.devnull).toBe("chr");
      expect(p.hostname).toBe("container");
      expect(p.hosts).toBe("ok");
      const mounts = Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith("mnt.")).map(([k, v]) => [k.slice(4), v]));
      expect(mounts).toEqual({
        "/": "overlay",
        "/etc/hostname": expect.any(String),
        "/etc/hosts": expect.any(String),
        "/etc/resolv.conf": expect.any(String),
        "/proc": "proc",
        "/sys": "sysfs",
        "/tmp": "tmpfs",
        "/dev": "tmpfs",
        "/dev/pts": "devpts",
        "/dev/shm": "tmpfs",
        "/run": "tmpfs",
      });
    }),
  );

  itest("09-user: root inside, uid 100000 on the host (show ids, and the owner of a file the container makes)", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      chmodSync(dir, 0o755);
      const data = join(dir, "data");
      mkdirSync(data);
      chownSync(data, 100000, 100000);
      const hostUserNs = readlinkSync("/proc/self/ns/user");
      const r = await h.ctr([example("09-user.ctr"), "sh", "-c", `echo "@@uid=$(id -u)"; echo "@@pid=$$"; echo "@@userns=$(readlink /proc/self/ns/user)"; touch ${data}/made && echo @@made=yes`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.uid).toBe("0");
      expect(p.pid).toBe("1");
      expect(p.userns).not.toBe(hostUserNs);
      expect(p.made).toBe("yes");
      expect(statSync(join(data, "made")).uid).toBe(100000); // the host's view of the container's root
      expect(r.stdout).toContain("uid: 0 inside, 100000 outside\n"); // show ids
      expect(r.stdout).toMatch(/^uid=0\(root\) gid=0\(root\)/m); // run id
      expect(r.stdout).toContain("cat: /etc/shadow: Permission denied\n");
    }),
  );

  itest("09-user with MAP=own, run by root: its self-checks hold (root is mapped to root, and it says so)", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("09-user.ctr"), "true"], { env: { MAP: "own" } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("uid: 0 inside, 0 outside\n");
      expect(r.stdout).toContain("the host root is mapped (MAP=own as root)\n");
    }),
  );

  itest("14-run-it: the command is PID 1 with ps its only other process; new uts, pid, mnt, ipc and net namespaces", () =>
    onHost(async (h) => {
      const host = hostNamespaces();
      const r = await h.ctr([example("14-run-it.ctr"), "sh", "-c", `${PS}; ${NS_PROBE}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const ps = psLines(r.stdout);
      expect(ps).toHaveLength(2);
      expect(ps[0]!.slice(0, 3)).toEqual(["1", "0", "sh"]); // PID 1 is the command, as in chapter 14's `ps -ef`
      expect(ps[1]!.slice(1, 3)).toEqual(["1", "ps"]);
      const p = probe(r.stdout);
      for (const n of ["uts", "pid", "mnt", "ipc", "net"]) expect(p[`ns.${n}`]).not.toBe(host[n]);
      expect(p["ns.cgroup"]).toBe(host.cgroup);
    }),
  );

  itest("14-run-it: the command travels through the pipe intact, whatever its length or characters (chapter 14)", () =>
    onHost(async (h) => {
      const arg = `quotes ' " \\ $HOME \${x} \`id\` ; | & * newline\nunicode 容器 ` + "x".repeat(100_000);
      const r = await h.ctr([example("14-run-it.ctr"), "sh", "-c", 'printf %s "$1"', "sh", arg]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.endsWith(arg)).toBe(true);
    }),
  );

  itest("the examples' exit status is the command's", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("05-mount.ctr"), "sh", "-c", "exit 42"]);
      expect(r.code).toBe(42);
    }),
  );
});

/** `ps` between two markers: no pipe, so no extra process shows up in the list. */
const PS = "echo @@ps-begin; ps -e -o pid=,ppid=,args=; echo @@ps-end";

/** The process lines printed by PS, split into words: [pid, ppid, command...]. */
function psLines(stdout: string): string[][] {
  const all = stdout.split("\n");
  return all.slice(all.indexOf("@@ps-begin") + 1, all.indexOf("@@ps-end")).map((l) => l.trim().split(/\s+/));
}

/** The ids of the host's System V message queues. */
function hostQueues(): string[] {
  const out = Bun.spawnSync(["ipcs", "-q"]).stdout.toString();
  return out
    .split("\n")
    .filter((l) => l.startsWith("0x"))
    .map((l) => l.split(/\s+/)[1]!);
}
