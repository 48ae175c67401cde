/**
 * What a new user tripped over (issue 10, the smaller items that need real
 * containers): `show mounts` with the filesystem's own options, `ns none`
 * keeping the caller's working directory and environment, and the REPL
 * showing pivot_root under the `rootfs` that causes it.
 */
import { describe, expect } from "bun:test";
import { hostname as osHostname } from "node:os";
import { itest, onHost } from "./host-state.ts";

describe("a new user's view", () => {
  itest("show mounts lists a mount's filesystem options too (size= of a tmpfs)", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns mnt, pid\nrootfs default\nmount tmpfs /tmp size=1m\nshow mounts"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\/tmp\s+tmpfs\s+tmpfs\s+rw,nosuid,nodev\S*,size=1024k/m);
      expect(r.stdout).toMatch(/^\/\s+overlay\s+overlay\s+\S*lowerdir=/m);
    }));

  itest("ns none: a plain child process keeps the caller's working directory and environment", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const r = await h.ctr(["-e", "ns none\nrun sh -c 'echo \"@@cwd=$(pwd)\"; echo \"@@var=$CTR_TEST_VAR\"; echo \"@@jsc=${BUN_JSC_useConcurrentJIT:-unset}\"'"], { cwd: dir, env: { CTR_TEST_VAR: "kept" } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`@@cwd=${dir}\n`);
      expect(r.stdout).toContain("@@var=kept\n");
      expect(r.stdout).toContain("@@jsc=unset\n"); // ctr's own settings for its stages are not the caller's
    }));

  itest("a container still starts in / with a clean environment", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const r = await h.ctr(["-e", "ns pid\nrun sh -c 'echo \"@@cwd=$(pwd)\"; echo \"@@var=${CTR_TEST_VAR:-unset}\"'"], { cwd: dir, env: { CTR_TEST_VAR: "kept" } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("@@cwd=/\n");
      expect(r.stdout).toContain("@@var=unset\n");
    }));

  itest("the REPL prints pivot_root under `rootfs`, not under the next `run`", () =>
    onHost(async (h) => {
      const r = await h.ctr(["repl"], { stdin: "ns mnt, pid\nrootfs default\nmount tmpfs /tmp\nrun true\n" });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const pivot = r.stdout.indexOf('pivot_root(".", ".")');
      expect(pivot).toBeGreaterThan(r.stdout.indexOf('mount("overlay"'));
      // Under `rootfs`: before what `mount tmpfs` printed, and nothing printed for `run true`.
      expect(pivot).toBeLessThan(r.stdout.indexOf('openat2(ROOT_FD, "./tmp"'));
      expect(r.stdout.trimEnd().endsWith('chdir("/")')).toBe(false);
    }));

  itest("/etc/hostname says the hostname in effect: the host's before `hostname` runs, the new one after", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns uts, mnt, pid\nrootfs default\nrun sh -c 'echo \"@@before=$(cat /etc/hostname)\"'\nhostname later\nrun sh -c 'echo \"@@after=$(cat /etc/hostname)\"'"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`@@before=${osHostname()}\n`);
      expect(r.stdout).toContain("@@after=later\n");
    }));
});
