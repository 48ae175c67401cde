/**
 * Rootless (uid 65534, `ns user`): `cap`, `no_new_privs`, `seccomp` and `show security` work
 * inside a user namespace as they do as root, read from inside (/proc/self/status) for a
 * `run` and for the `exec`. Capabilities are relative to the user namespace, and there the
 * kernel makes some statements no-ops, which the last test measures:
 *   - a capability the kernel checks against the initial user namespace (CAP_SYS_TIME for
 *     the clock, CAP_MKNOD for device nodes, CAP_SYS_MODULE, CAP_SYS_RAWIO, ...) is useless
 *     to the container's root already: dropping it changes what /proc/self/status says,
 *     not what the container can do;
 *   - the host-wide sysctls under /proc/sys belong to the host's root (not mapped): a write
 *     fails with EACCES with or without `readonly /proc/sys`;
 *   - no_new_privs: execve ignores the set-user-ID bit of a file whose owner is not mapped
 *     (every setuid-root binary of the host) anyway; the flag still stops file
 *     capabilities and setuid files of mapped owners, and lets a filter load.
 * seccomp is unchanged: a filter applies to the calls whatever namespace makes them.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onHost, type Host } from "../integration/host-state.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, USER, USERNS_BLOCKER, userDir } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));
const GCC = Bun.which("gcc");

const STATUS = `grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " " | tr "\\n" ";"; id -u`;

async function asUser(h: Host, script: string) {
  await freshenBundle(h);
  const home = userDir(h);
  return ctrAsUser(h, ["-e", script], { home });
}

describe("rootless: cap, no_new_privs, seccomp, show security (uid 65534)", () => {
  test.skipIf(skip)("two capabilities, no_new_privs and the default profile: the same sets for a run and the exec; show security says so", () =>
    onHost(async (h) => {
      const r = await asUser(h, `ns user, uts, pid, mnt
cap drop all
cap add chown, net_bind_service
no_new_privs
seccomp default
show security
run sh -c '${STATUS}'
exec sh -c '${STATUS}'`);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const line = "CapEff: 0000000000000401;CapBnd: 0000000000000401;CapAmb: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;0";
      expect(r.stdout.split("\n").filter((l) => l.startsWith("CapEff"))).toEqual([line, line]);
      expect(r.stdout).toContain("CapBnd      0000000000000401  chown, net_bind_service\n");
      expect(r.stdout).toContain("NoNewPrivs  1\n");
      expect(r.stdout).toMatch(/Seccomp {5}2 \(filter\), 1 filter\n/);
    }),
    60_000,
  );

  test.skipIf(skip)("a profile denying sethostname: `hostname x` works for the user namespace's root without it, fails with it (seccomp unchanged)", () =>
    onHost(async (h) => {
      const dir = userDir(h);
      chmodSync(dir, 0o755);
      const file = join(dir, "deny.json");
      writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));
      chownSync(file, USER, USER);
      const without = await asUser(h, "ns user, uts, pid, mnt\nrun sh -c 'hostname x && hostname'");
      expect(without.stdout).toBe("x\n");
      const r = await asUser(h, `ns user, uts, pid, mnt\nseccomp ${file}\nrun sh -c 'hostname x 2>/dev/null; echo $?'\nexec sh -c '${STATUS}'`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("1\nCapEff: 000001ffffffffff;CapBnd: 000001ffffffffff;CapAmb: 0000000000000000;NoNewPrivs: 0;Seccomp: 2;0\n");
    }),
    60_000,
  );

  test.skipIf(skip)("where the kernel makes a statement a no-op: with every capability the user namespace's root can neither mknod a device, write a host-wide sysctl nor set the clock", () =>
    onHost(async (h) => {
      const dir = userDir(h);
      chmodSync(dir, 0o755);
      let clock = "";
      if (GCC) {
        // The escape suite's helper: sets the clock to the time it just read (no change if it succeeded).
        const helper = join(dir, "esc");
        const cc = Bun.spawnSync([GCC, "-static", "-O2", "-o", helper, join(import.meta.dir, "..", "security", "escape-helper.c")], { stderr: "pipe" });
        if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr}`);
        clock = `; ${helper} clock`;
      } else console.log("skip: gcc not found: the clock is not tried (the helper is compiled at test time)");
      const r = await asUser(h, `ns user, uts, pid, mnt
mount tmpfs /mnt
exec sh -c 'grep "^CapEff:" /proc/self/status; mknod /mnt/null c 1 3 2>/dev/null || echo mknod refused; (v=$(cat /proc/sys/kernel/panic); echo "$v" > /proc/sys/kernel/panic) 2>/dev/null || echo sysctl refused${clock}'`);
      expect(r.stderr).toBe("");
      const want = ["CapEff:\t000001ffffffffff", "mknod refused", "sysctl refused", ...(GCC ? ["blocked clock_settime (EPERM)"] : [])];
      expect(r.stdout.trim().split("\n")).toEqual(want);
    }),
    60_000,
  );
});
