/**
 * Root filesystems: after `rootfs` (pivot_root) the host's tree is gone from the
 * container; after `chroot` it is only hidden, and a root process climbs back
 * out (the classic chroot escape, done with perl's chroot builtin). Both are
 * replayed with examples/06-rootfs.ctr on a rootfs the test builds with
 * `ctr rootfs host` (perl included), so the escape can be tried from inside.
 * Also: a symlink in the rootfs cannot redirect a mount onto the host.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, example, hostMountinfo, IS_ROOT, itest, mountPoints, onHost, probe } from "./host-state.ts";

const PERL = ["/usr/bin/perl", "/bin/perl"].find((p) => existsSync(p));

// One rootfs for the file, built by ctr itself from host binaries.
let base = "";
let rootfs = "";
/** A host-only file: visible from the container only if the host's tree is reachable. */
let marker = "";

beforeAll(() => {
  if (!IS_ROOT) return;
  base = mkdtempSync(join(tmpdir(), "ctr-it-rootfs-"));
  rootfs = join(base, "rootfs");
  const bins = ["sh", "ls", "cat", "mkdir", "mount", ...(PERL ? [PERL] : [])];
  const r = Bun.spawnSync([CTR, "rootfs", "host", rootfs, ...bins], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ctr rootfs host failed: ${r.stderr.toString()}`);
  marker = join(base, "host-marker");
  writeFileSync(marker, "on the host only\n");
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Count the container's mounts, then try to climb out of its root and look for the host's marker. */
function escapeProbe(): string {
  const count = `n=0; while read -r l; do n=$((n+1)); done < /proc/self/mountinfo`;
  const after = `${count}; echo "@@after=$n"; test -e ${marker} && echo @@marker=visible || echo @@marker=absent`;
  const perl = `mkdir "/escape"; chroot "/escape" or die "chroot: $!"; chdir ".." for 1..64; chroot "." or die "chroot: $!"; exec "/bin/sh", "-c", $ARGV[0] or die "exec: $!"`;
  return `${count}; echo "@@before=$n"; test -e ${marker} && echo @@markerBefore=visible || echo @@markerBefore=absent; exec perl -e '${perl}' '${after}'`;
}

describe("rootfs vs chroot (examples/06-rootfs.ctr)", () => {
  itest("rootfs (pivot_root): the host's tree is gone, and climbing out of the root leads back into it", () =>
    onHost(async (h) => {
      if (!PERL) return console.log("skip the escape: no perl on this host");
      const r = await h.ctr([example("06-rootfs.ctr"), "sh", "-c", escapeProbe()], { env: { ROOT: rootfs } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.markerBefore).toBe("absent");
      expect(p.marker).toBe("absent"); // "../../.." from the root is the root: nothing else is mounted
      expect(p.after).toBe(p.before);
      // what the escape attempt left is inside the rootfs, not on the host
      expect(existsSync(join(rootfs, "escape"))).toBe(true);
      rmSync(join(rootfs, "escape"), { recursive: true });
    }),
  );

  itest("chroot: mountinfo hides the host's mounts, but a root process climbs back to the host's root", () =>
    onHost(async (h) => {
      if (!PERL) return console.log("skip the escape: no perl on this host");
      const r = await h.ctr([example("06-rootfs.ctr"), "sh", "-c", escapeProbe()], { env: { ROOT: rootfs, CHROOT: "yes" } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.markerBefore).toBe("absent"); // inside the chroot the host's file is out of sight...
      expect(p.marker).toBe("visible"); // ...but it was there all along
      // Before the escape the kernel shows only the mounts below the chroot; after
      // it, every mount of the namespace, the host's included.
      expect(Number(p.after)).toBeGreaterThan(Number(p.before));
      rmSync(join(rootfs, "escape"), { recursive: true, force: true });
    }),
  );

  itest("rootfs and chroot show the same mounts from inside: only the escape tells them apart", () =>
    onHost(async (h) => {
      const list = `while read -r id parent dev root point rest; do echo "@@mnt=$point"; done < /proc/self/mountinfo`;
      const seen: string[][] = [];
      for (const env of [{ ROOT: rootfs }, { ROOT: rootfs, CHROOT: "yes" }] as Record<string, string>[]) {
        const r = await h.ctr([example("06-rootfs.ctr"), "sh", "-c", list], { env });
        expect(r.code).toBe(0);
        seen.push(r.stdout.split("\n").filter((l) => l.startsWith("@@mnt=")).map((l) => l.slice(6)));
      }
      expect(seen[0]).toEqual(seen[1]!);
      // and none of the host's mount points but "/" (which is the rootfs's own)
      const hostPoints = new Set(mountPoints(hostMountinfo()).filter((m) => m !== "/"));
      const ours = new Set(["/proc", "/sys", "/tmp", "/dev", "/dev/pts", "/dev/shm", "/run", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]);
      for (const m of seen[0]!) if (!ours.has(m) && m !== "/") expect(hostPoints.has(m) ? `host mount ${m}` : m).toBe("one of the container's");
    }),
  );

  itest("after rootfs, /proc/self/mountinfo inside has no mount of the host and the root is the rootfs", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("06-rootfs.ctr"), "cat", "/proc/self/mountinfo"], { env: { ROOT: rootfs } });
      expect(r.code).toBe(0);
      const lines = r.stdout.split("\n").filter((l) => / - /.test(l));
      const root = lines.find((l) => l.split(" ")[4] === "/")!;
      expect(root.split(" ")[3]).toBe(rootfs); // "/" is a bind mount of the rootfs directory
      expect(lines.map((l) => l.split(" ")[4]).sort()).toEqual(
        ["/", "/dev", "/dev/pts", "/dev/shm", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/run", "/sys", "/tmp"].sort(),
      );
    }),
  );
});

describe("mount targets stay inside the root", () => {
  itest("a symlink in the rootfs pointing at a host directory is resolved inside the rootfs", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const victim = join(dir, "host-dir");
      mkdirSync(victim);
      writeFileSync(join(victim, "keep"), "x");
      const root = join(dir, "rootfs");
      const r0 = Bun.spawnSync([CTR, "rootfs", "host", root, "sh", "cat"], { stderr: "pipe" });
      expect(r0.exitCode).toBe(0);
      symlinkSync(victim, join(root, "abs-link")); // absolute: /tmp/.../host-dir
      symlinkSync("../".repeat(12) + victim.slice(1), join(root, "rel-link")); // climbing: ../../../...
      const script = [
        "ns mnt, pid",
        `rootfs ${root}`,
        "mount proc",
        "mount tmpfs /abs-link",
        "mount tmpfs /rel-link/sub",
        `exec sh -c 'while read -r id parent dev root point rest; do echo "@@mnt=$point"; done < /proc/self/mountinfo; test -e ${victim}/keep && echo @@victim=visible || echo @@victim=absent'`,
      ].join("\n");
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const mounts = r.stdout.split("\n").filter((l) => l.startsWith("@@mnt=")).map((l) => l.slice(6));
      // both links resolved to the same place *inside* the root
      expect(mounts).toContain(victim);
      expect(mounts).toContain(`${victim}/sub`);
      expect(probe(r.stdout).victim).toBe("absent"); // the tmpfs covers the rootfs's copy of the path, empty
      // the mount point was made in the rootfs; the host directory is untouched
      expect(existsSync(join(root, victim.slice(1)))).toBe(true);
      expect(readdirSync(victim)).toEqual(["keep"]);
      expect(readlinkSync(join(root, "abs-link"))).toBe(victim);
    }),
  );

  itest("every kind of target through a symlink to a host path: mount dev, a bound file, a volume and the /etc files land inside the rootfs, the host paths gain nothing", () =>
    onHost(async (h) => {
      const dir = h.scratch();
      const victim = join(dir, "host-dir"); // on the host, outside the rootfs
      mkdirSync(victim);
      writeFileSync(join(victim, "hosts"), "host's own\n");
      const source = join(dir, "source");
      writeFileSync(source, "bound\n");
      const vol = join(dir, "vol");
      mkdirSync(vol);
      const root = join(dir, "rootfs");
      const r0 = Bun.spawnSync([CTR, "rootfs", "host", root, "sh", "cat"], { stderr: "pipe" });
      expect(r0.exitCode).toBe(0);
      rmSync(join(root, "dev"), { recursive: true, force: true });
      symlinkSync(join(victim, "dev"), join(root, "dev")); // mount dev through it: the nodes would be made on the host
      symlinkSync(victim, join(root, "mnt-link"));
      rmSync(join(root, "etc", "hosts"), { force: true });
      symlinkSync(join(victim, "hosts"), join(root, "etc", "hosts")); // an /etc file bound in by `rootfs`
      const script = [
        "ns mnt, pid, uts",
        `rootfs ${root}`,
        "mount proc",
        "mount dev",
        `mount bind ${source} /mnt-link/f`,
        `volume ${vol}:/mnt-link/v`,
        `exec sh -c 'while read -r id parent dev root point rest; do echo "@@mnt=$point"; done < /proc/self/mountinfo; cat /mnt-link/f'`,
      ].join("\n");
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const mounts = r.stdout.split("\n").filter((l) => l.startsWith("@@mnt=")).map((l) => l.slice(6));
      // inside, each mount is where the symlinks lead when resolved inside the rootfs
      for (const p of ["dev", "f", "v"]) expect(mounts).toContain(join(victim, p));
      expect(r.stdout).toContain("bound\n");
      // the rootfs has the mount points, the host directory only what the test put there
      for (const p of ["dev", "f", "v"]) expect(existsSync(join(root, victim.slice(1), p))).toBe(true);
      expect(readdirSync(victim)).toEqual(["hosts"]);
      expect(readdirSync(vol)).toEqual([]);
    }),
  );
});
