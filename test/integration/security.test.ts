// `cap`, `seccomp`, `user` on the real kernel, read from inside (/proc/self/status, id),
// for a `run` (the exec stage) and for `exec` (PID 1 itself); as root and rootless.

import { describe, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { itest, onHost } from "./host-state.ts";

const STATUS = `grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " " | tr "\\n" ";"; id -u; id -G`;

describe("cap, seccomp, user", () => {
  itest("docker's 14 capabilities, no_new_privs and the default profile, for a run and the exec", () =>
    onHost(async (h) => {
      const script = `ns uts, pid, mnt
cap drop all
cap add chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap
no_new_privs
seccomp default
run sh -c '${STATUS}'
exec sh -c '${STATUS}'`;
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      const line = "CapEff: 00000000a80425fb;CapBnd: 00000000a80425fb;CapAmb: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;0\n0";
      expect(r.stdout).toBe(`${line}\n${line}\n`);
    }),
  );

  itest("a profile denying sethostname makes `hostname x` fail with EPERM as root", () =>
    onHost(async (h) => {
      const dir = mkdtempSync(join(tmpdir(), "ctr-seccomp-"));
      try {
        const file = join(dir, "deny.json");
        writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));
        const before = await h.ctr(["-e", `ns uts, pid, mnt\nrun hostname x\nrun hostname`]);
        expect(before.stdout).toBe("x\n");
        const r = await h.ctr(["-e", `ns uts, pid, mnt\nseccomp ${file}\nrun sh -c 'hostname x 2>/dev/null; echo $?'\nexec hostname`]);
        expect(r.stdout).toBe(`1\n${hostname()}\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  itest("user with a name from the container's /etc/passwd and groups=, and cap add kept for it (ambient)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", `ns uts, pid, mnt\nuser nobody groups=100\ncap drop all\ncap add net_bind_service\nrun sh -c '${STATUS}'\nuser 1234:1234\nrun sh -c '${STATUS}'\nuser no-such-user-here\nrun true`]);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toBe("CapEff: 0000000000000400;CapBnd: 0000000000000400;CapAmb: 0000000000000400;NoNewPrivs: 0;Seccomp: 0;65534");
      expect(lines[1]!.split(" ").sort()).toEqual(["100", "65534"]);
      expect(lines[2]).toBe("CapEff: 0000000000000400;CapBnd: 0000000000000400;CapAmb: 0000000000000400;NoNewPrivs: 0;Seccomp: 0;1234");
      expect(r.stderr).toContain('user "no-such-user-here" is not in the container\'s /etc/passwd');
      expect(r.code).not.toBe(0);
    }),
  );
});
