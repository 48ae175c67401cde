/**
 * Bad input: each case gets one clear message and the documented exit status
 * (2 a script error found before anything runs, 125 the container could not be
 * set up, 126 not executable, 127 not found), and leaves nothing on the host.
 */
import { describe, expect } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { example, itest, onHost } from "./host-state.ts";

interface Case {
  name: string;
  /** The script, or [example, args...] with env. */
  script: (dir: string) => { args: string[]; env?: Record<string, string> };
  code: number;
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: "a missing rootfs directory (found by the checker, on the host)",
    script: (dir) => ({ args: [example("06-rootfs.ctr"), "true"], env: { ROOT: join(dir, "nonexistent") } }),
    code: 2,
    message: /rootfs ".*nonexistent" does not exist on the host/,
  },
  {
    name: "a file where the rootfs directory should be (found by the checker)",
    script: (dir) => ({ args: [example("06-rootfs.ctr"), "true"], env: { ROOT: join(dir, "file") } }),
    code: 2,
    message: /rootfs ".*file" is not a directory on the host/,
  },
  {
    name: "a file where a mount point directory should be",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\nmount tmpfs /etc/hostname\nexec true"] }),
    code: 125,
    message: /mount target "\/etc\/hostname" is not a directory: ENOTDIR \(not a directory\)/,
  },
  {
    name: "a file as the working directory",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\ncwd /etc/hostname\nexec true"] }),
    code: 125,
    message: /working directory "\/etc\/hostname" is not a directory/,
  },
  {
    name: "a missing working directory",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\ncwd /nonexistent\nrun true"] }),
    code: 125,
    message: /working directory "\/nonexistent" does not exist/,
  },
  {
    name: "exec of a missing command",
    script: () => ({ args: [example("06-rootfs.ctr"), "/bin/no-such-command"] }),
    code: 127,
    message: /command not found: "\/bin\/no-such-command"/,
  },
  {
    name: "exec of a missing command found through PATH",
    script: () => ({ args: [example("05-mount.ctr"), "no-such-command"] }),
    code: 127,
    message: /command not found: "no-such-command"/,
  },
  {
    name: "exec of a file that is not executable",
    script: (dir) => ({ args: [example("05-mount.ctr"), join(dir, "file")] }),
    code: 126,
    message: /command not executable: ".*file"/,
  },
  {
    name: "exec of a directory",
    script: () => ({ args: [example("06-rootfs.ctr"), "/etc"] }),
    code: 126,
    message: /command not executable: "\/etc"/,
  },
  {
    name: "run of a missing command",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\nrun /bin/no-such-command\nexec true"] }),
    code: 127,
    message: /command not found: "\/bin\/no-such-command"/,
  },
  {
    name: "an unknown filesystem type (refused by the checker)",
    script: () => ({ args: ["-e", "ns mnt\nmount ext9 /mnt\nexec true"] }),
    code: 2,
    message: /unknown `mount` form `ext9`/,
  },
  {
    name: "a mount target outside the root",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\nmount tmpfs ../../tmp/escape\nexec true"] }),
    code: 125,
    message: /mount target "..\/..\/tmp\/escape" is outside the container's root/,
  },
  {
    name: "a mount point that cannot be created",
    script: () => ({ args: ["-e", "ns mnt, pid\nrootfs default\nmount proc\nmount tmpfs /proc/nonexistent/x\nexec true"] }),
    code: 125,
    // procfs has no mkdir: the kernel says EPERM (mkdirat in /proc) or ENOENT
    message: /cannot create the mount point "\/proc\/nonexistent\/x": (ENOENT \(no such file or directory\)|EPERM \(operation not permitted\))/,
  },
  {
    name: "a missing bind source (found by the checker, on the host)",
    script: (dir) => ({ args: ["-e", `ns mnt, pid\nrootfs default\nmount bind ${join(dir, "nonexistent")} /mnt\nexec true`] }),
    code: 2,
    message: /bind source ".*nonexistent" does not exist on the host/,
  },
  {
    name: "a statement that needs a namespace the script does not create",
    script: () => ({ args: ["-e", "ns pid\nhostname c\nexec true"] }),
    code: 2,
    message: /`hostname` needs `ns uts`/,
  },
  {
    name: "a failing `run` stops the script, and says which and why",
    script: (dir) => ({ args: ["-e", `ns pid\nrun sh -c 'exit 3'\nrun touch ${join(dir, "ran")}`] }),
    code: 3,
    message: /^-e:2:1: error: `run sh -c 'exit 3'` exited with status 3\n[^]*help: .*`expect exit 3`/,
  },
  {
    name: "a `run` killed by a signal stops the script, and says so",
    script: (dir) => ({ args: ["-e", `ns pid\nrun sh -c 'kill -9 $$'\nrun touch ${join(dir, "ran")}`] }),
    code: 137,
    message: /^-e:2:1: error: `run sh -c 'kill -9 \$\$'` was killed by SIGKILL \(status 137\)/,
  },
  {
    name: "a syntax error on the last line: nothing runs",
    script: (dir) => ({ args: ["-e", `ns mnt, pid\nmount tmpfs /mnt\nrun touch ${join(dir, "ran")}\nexpect output ==`] }),
    code: 2,
    message: /error/,
  },
];

describe("bad input", () => {
  for (const c of CASES) {
    itest(`${c.name}: exit ${c.code}`, () =>
      onHost(async (h) => {
        const dir = h.scratch();
        writeFileSync(join(dir, "file"), "not a program\n");
        chmodSync(join(dir, "file"), 0o644);
        mkdirSync(join(dir, "empty"));
        const { args, env } = c.script(dir);
        const r = await h.ctr(args, { env });
        expect(r.stderr).toMatch(c.message);
        expect(r.code).toBe(c.code);
        // One diagnostic, not a stack trace.
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.stderr).not.toMatch(/internal error/);
        expect(await Bun.file(join(dir, "ran")).exists()).toBe(false);
      }),
    );
  }
});
