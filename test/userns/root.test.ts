/**
 * Issue 5, as root: `ns user` with `map uid 0 100000 65536` (and gid) makes the
 * container's root an unprivileged range of the host. Measured from both sides:
 * inside, `id`, /proc/self/uid_map and the capability sets; on the host, the
 * owner of files the container creates in a bind-mounted host directory.
 */
import { describe, expect } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { itest, onHost, probe } from "../integration/host-state.ts";
import { normaliseMap } from "./helpers.ts";

const BASE = 100000;

/** A host directory the container's root (host uid BASE) may write: `data` inside `dir`. */
function sharedDir(dir: string): string {
  chmodSync(dir, 0o755); // mkdtemp makes it 0700, closed to the mapped ids
  const data = join(dir, "data");
  mkdirSync(data);
  chownSync(data, BASE, BASE);
  writeFileSync(join(data, "host-root-file"), "made by the host's root\n");
  return data;
}

describe("user namespace as root: map uid|gid 0 100000 65536", () => {
  itest("uid 0 inside is uid 100000 outside: id, uid_map, capabilities, and the owner of the files it creates on the host", () =>
    onHost(async (h) => {
      const data = sharedDir(h.scratch());
      const hostUserNs = readlinkSync("/proc/self/ns/user");
      const script = [
        "ns user, uts, pid, mnt",
        `map uid 0 ${BASE} 65536`,
        `map gid 0 ${BASE} 65536`,
        "hostname mapped",
        "rootfs default",
        "mount proc",
        `mount bind ${data} /data`,
        "show ids",
        "exec sh -c 'echo \"@@uid=$(id -u)\"; echo \"@@gid=$(id -g)\"; echo \"@@uidmap=$(cat /proc/self/uid_map)\"; echo \"@@gidmap=$(cat /proc/self/gid_map)\";" +
          " while read -r k v; do case $k in CapEff:) echo \"@@capeff=$v\";; esac; done < /proc/self/status;" +
          " echo \"@@userns=$(readlink /proc/self/ns/user)\"; echo \"@@hostfile=$(stat -c %u:%g /data/host-root-file)\";" +
          " touch /data/made-by-root && mkdir /data/dir-by-root && echo @@wrote=yes'",
      ].join("\n");
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      // Inside: root, with the map the script asked for.
      expect(p.uid).toBe("0");
      expect(p.gid).toBe("0");
      expect(normaliseMap(p.uidmap ?? "")).toBe(`0 ${BASE} 65536`);
      expect(normaliseMap(p.gidmap ?? "")).toBe(`0 ${BASE} 65536`);
      expect(p.userns).toMatch(/^user:\[\d+\]$/);
      expect(p.userns).not.toBe(hostUserNs);
      // Root inside has every capability the kernel knows, in its own namespace.
      const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
      expect(BigInt(`0x${p.capeff}`)).toBe((1n << BigInt(lastCap + 1)) - 1n);
      // A file of the host's root is unmapped inside: the overflow ids.
      expect(p.hostfile).toBe("65534:65534");
      expect(p.wrote).toBe("yes");
      // On the host: what the container's root made belongs to uid/gid 100000.
      for (const name of ["made-by-root", "dir-by-root"]) {
        const st = statSync(join(data, name));
        expect([name, st.uid, st.gid]).toEqual([name, BASE, BASE]);
      }
      // `show ids` said the same from the host's side.
      expect(r.stdout).toContain(`uid: 0 inside, ${BASE} outside\n`);
      expect(r.stdout).toContain(`gid: 0 inside, ${BASE} outside\n`);
      expect(r.stdout).toContain(`uid_map: 0 ${BASE} 65536\n`);
    }),
  );

  itest("several map lines: each range lands where its line says (host files, no rootfs)", () =>
    onHost(async (h) => {
      const data = sharedDir(h.scratch());
      const script = [
        "ns user",
        `map uid 0 ${BASE} 1000`,
        `map uid 1000 ${BASE + 5000} 10`,
        `map gid 0 ${BASE} 2000`,
        `exec sh -c 'echo "@@uidmap=$(tr "\\n" ";" < /proc/self/uid_map)"; cd ${data} && touch a && chown 1003:1003 a && echo @@ok=yes; chown 1010 a 2>/dev/null && echo @@unmapped=allowed || echo @@unmapped=refused'`,
      ].join("\n");
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(normaliseMap(p.uidmap ?? "")).toBe(`0 ${BASE} 1000; 1000 ${BASE + 5000} 10`);
      expect(p.ok).toBe("yes");
      expect(p.unmapped).toBe("refused"); // uid 1010 is outside both lines
      const st = statSync(join(data, "a"));
      expect([st.uid, st.gid]).toEqual([BASE + 5003, BASE + 1003]);
    }),
  );

  itest("without `map`, root's own ids are root inside, and only those", () =>
    onHost(async (h) => {
      const r = await h.ctr(["-e", "ns user, uts\nexec sh -c 'echo \"@@uid=$(id -u)\"; echo \"@@uidmap=$(cat /proc/self/uid_map)\"; echo \"@@gidmap=$(cat /proc/self/gid_map)\"'"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const p = probe(r.stdout);
      expect(p.uid).toBe("0");
      expect(normaliseMap(p.uidmap ?? "")).toBe(`0 ${process.getuid!()} 1`);
      expect(normaliseMap(p.gidmap ?? "")).toBe(`0 ${process.getgid!()} 1`);
    }),
  );
});
