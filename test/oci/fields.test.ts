// Item 2's remaining Linux fields, for real (as root): linux.devices made and
// allowed, seen from inside the container. Bundles from `ctr spec` with the
// busybox rootfs; `ctr run` under a root directory of the test's own; nothing
// left on the host (test/integration/host-state.ts).

import { describe, expect } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxRootfs } from "./busybox.ts";
import { CTR, REPO, itest, onHost, type Host } from "../integration/host-state.ts";
import { hierarchyOf, machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { holdNamespace } from "./nsholder.ts";

const bb = busyboxRootfs("ctr-it-ocif-");

/** A bundle: `ctr spec`'s config with `args` (and `edit` applied), its root the busybox rootfs. */
async function bundle(h: Host, args: string[], edit: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const b = h.scratch();
  expect((await h.ctr(["spec", "--bundle", b])).code).toBe(0);
  const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  cfg.root.path = bb.path;
  cfg.process.args = args;
  edit(cfg);
  writeFileSync(join(b, "config.json"), JSON.stringify(cfg, null, 2));
  return b;
}

/** A whole block device of this machine (a disk before a loop device), as MAJOR:MINOR. */
function blockDevice(): string {
  const names = readdirSync("/sys/block").sort((a, b) => Number(a.startsWith("loop")) - Number(b.startsWith("loop")));
  return readFileSync(`/sys/block/${names[0]}/dev`, "utf8").trim();
}

/** `ctr --root ROOT run --bundle B ID`, the JSON log beside ROOT. */
function run(h: Host, root: string, b: string, id: string) {
  return h.ctr(["--root", root, "--log", join(root, "..", "log.json"), "--log-format", "json", "run", "--bundle", b, id]);
}

describe("OCI Linux fields seen from inside", () => {
  itest("linux.devices: each node made with its type, numbers, mode and owner, and allowed by the device cgroup; a FIFO too; a node already there is left as it is", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      const probe = [
        "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/myfull /dev/null",
        "stat -c '%n %F %a' /run/fifo",
        // Opened: allowed by the rule the listed node adds to `ctr spec`'s deny-all policy.
        "true < /dev/fuse && echo fuse=open || echo fuse=denied",
        "head -c3 /dev/myfull | od -An -tx1",
      ].join("; ");
      const b = await bundle(h, ["sh", "-c", probe], (c) => {
        c.linux.devices = [
          { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o606, uid: 5, gid: 6 },
          { path: "/dev/myfull", type: "c", major: 1, minor: 7, fileMode: 0o640 },
          // /dev/null is made by the /dev tmpfs's defaults (1:3, 0666): a listed one there is left so.
          { path: "/dev/null", type: "c", major: 1, minor: 5, fileMode: 0o600 },
          { path: "/run/fifo", type: "p", fileMode: 0o620 },
        ];
      });
      const r = await run(h, root, b, "d1");
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(r.stdout).toBe(
        [
          "/dev/fuse character special file a:e5 606 5:6",
          "/dev/myfull character special file 1:7 640 0:0",
          "/dev/null character special file 1:3 666 0:0",
          "/run/fifo fifo 620",
          "fuse=open",
          " 00 00 00",
          "",
        ].join("\n"),
      );
      // The rule is what opens it: a node of the same device that the host made, bound in, is denied
      // without linux.devices, and opens with it (the rule is by number); the listed node's rule comes
      // after the config's own rules, so a deny among them does not take it back.
      const hostDir = h.scratch();
      expect(Bun.spawnSync(["mknod", join(hostDir, "fuse"), "c", "10", "229"]).exitCode).toBe(0);
      const opens = "true < /mnt/fuse && echo mnt=open || echo mnt=denied";
      const bound = (c: Record<string, any>) => c.mounts.push({ destination: "/mnt", type: "bind", source: hostDir, options: ["rbind"] });
      const none = await run(h, root, await bundle(h, ["sh", "-c", `exec 2>/dev/null; ${opens}`], bound), "d2");
      expect([none.code, none.stdout, none.stderr]).toEqual([0, "mnt=denied\n", ""]);
      const listed = await bundle(h, ["sh", "-c", `${opens}; true < /dev/fuse && echo dev=open`], (c) => {
        bound(c);
        c.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }];
        c.linux.resources.devices.push({ allow: false, type: "c", major: 10, minor: 229, access: "rwm" });
      });
      const d = await run(h, root, listed, "d3");
      expect([d.code, d.stdout]).toEqual([0, "mnt=open\ndev=open\n"]);
    }),
    60_000,
  );
  itest("linux.devices in a user namespace, where mknod is not permitted: the host's node at the path is bound there, as runc does", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      const b = await bundle(h, ["sh", "-c", "stat -c '%n %F %t:%T' /dev/fuse; grep ' /dev/fuse ' /proc/self/mountinfo | wc -l"], (c) => {
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        c.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 }];
      });
      const r = await run(h, root, b, "u1");
      expect([r.code, r.stdout, r.stderr]).toEqual([0, "/dev/fuse character special file a:e5\n1\n", ""]);
    }),
    60_000,
  );
  itest("linux.resources.blockIO: the throttles written to the container's own blkio (v1) or io (v2) cgroup, read from inside; a weight where the host's scheduler has none is an error naming the field, nothing made", () =>
    onHost(async (h) => {
      const io = hierarchyOf(machineCgroups(), "io");
      if (!io) {
        console.log("skip: this machine has no blkio or io cgroup controller");
        return;
      }
      const root = join(h.scratch(), "root");
      const dev = blockDevice();
      const [major, minor] = dev.split(":").map(Number);
      const v1 = io.version === "v1";
      const read = v1 ? "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device" : "grep '^" + dev + " ' /sys/fs/cgroup/io.max";
      const b = await bundle(h, ["sh", "-c", read], (c) => {
        c.mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro"] });
        c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major, minor, rate: 1048576 }], throttleWriteIOPSDevice: [{ major, minor, rate: 77 }] };
      });
      const r = await run(h, root, b, "io1");
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(r.stdout).toBe(v1 ? `${dev} 1048576\n${dev} 77\n` : `${dev} rbps=1048576 wbps=max riops=max wiops=77\n`);
      // The weight: written where the scheduler gives group weights, else refused naming the field.
      const own = `${io.mount}${io.callerPath === "/" ? "" : io.callerPath}`;
      const files = v1 ? ["blkio.weight", "blkio.bfq.weight"] : ["io.weight", "io.bfq.weight"];
      const has = files.some((f) => {
        try {
          readFileSync(`${own}/${f}`);
          return true;
        } catch {
          return false;
        }
      });
      const w = await bundle(h, ["sh", "-c", `cat /sys/fs/cgroup/${v1 ? "blkio/" : ""}${files.map((f) => `${f} `).join("")}2>/dev/null`], (c) => {
        c.mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro"] });
        c.linux.resources.blockIO = { weight: 300 };
      });
      const wr = await run(h, root, w, "io2");
      if (has) expect([wr.code, wr.stdout]).toEqual([0, expect.stringMatching(/\b(300|2021)\b/)]);
      else {
        expect(wr.code).toBe(1);
        expect(wr.stderr).toContain("config.json:/linux/resources/blockIO/weight");
        expect(wr.stderr).toContain("has no weight file");
      }
    }),
    60_000,
  );
  itest("a PID namespace by path is joined: the command is an ordinary process of it (the holder its PID 1), its processes ended at the end by the container's cgroup; ps is refused there", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      // A PID namespace held by a process of the test's own: unshare forks sleep into it, as its PID 1.
      const holder = Bun.spawn({ cmd: ["unshare", "--pid", "--fork", "sleep", "100"], stdio: ["ignore", "ignore", "inherit"] });
      let init = 0;
      try {
        let ns = "";
        const end = Date.now() + 10_000;
        while (Date.now() < end) {
          try {
            init = Number(readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, "utf8").trim().split(/\s+/)[0]);
            if (init > 0) ns = readlinkSync(`/proc/${init}/ns/pid`);
            if (ns && ns !== readlinkSync("/proc/self/ns/pid")) break;
          } catch {
            // not forked yet
          }
          await Bun.sleep(20);
        }
        expect(ns).toMatch(/^pid:/);
        // A background job of the command's outlives it in the joined namespace unless ctr ends it.
        const probe = "readlink /proc/self/ns/pid; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo; sleep 300 & echo bg=$!";
        const b = await bundle(h, ["sh", "-c", probe], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "pid" ? { type: "pid", path: `/proc/${init}/ns/pid` } : n));
        });
        const r = await run(h, root, b, "pp1");
        expect([r.code, r.stderr]).toEqual([0, ""]);
        const lines = r.stdout.split("\n");
        expect(lines[0]).toBe(ns);
        expect(lines[1]).toMatch(/^pid=(\d+)$/);
        expect(lines[1]).not.toBe("pid=1");
        expect(lines[2]).toBe("sleep 100 ");
        // The background sleep is gone: no process of the namespace is left but its init (a zombie
        // counts as gone: its reaper, the holder's sleep, never waits).
        const bg = Number(/^bg=(\d+)$/m.exec(r.stdout)?.[1]);
        expect(bg).toBeGreaterThan(1);
        const left = readdirSync("/proc").filter((e) => /^\d+$/.test(e) && e !== String(init)).filter((e) => {
          try {
            const stat = readFileSync(`/proc/${e}/stat`, "utf8");
            return readlinkSync(`/proc/${e}/ns/pid`) === ns && stat[stat.lastIndexOf(")") + 2] !== "Z";
          } catch {
            return false;
          }
        });
        expect(left.map((p) => `${p} ${readFileSync(`/proc/${p}/cgroup`, "utf8")}`)).toEqual([]);
        // ps lists a PID namespace's processes: in a joined one they are not all the container's.
        const d = await bundle(h, ["sleep", "100"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "pid" ? { type: "pid", path: `/proc/${init}/ns/pid` } : n));
        });
        const oci = (args: string[]) => h.ctr(["--root", root, "--log", join(root, "..", "log.json"), "--log-format", "json", ...args]);
        // create, its standard streams (which the container keeps) in a file; its supervisor joins the host check's processes.
        const out = openSync(join(root, "..", "pp2.out"), "w");
        try {
          const proc = Bun.spawn({ cmd: [CTR, "--root", root, "create", "--bundle", d, "pp2"], cwd: REPO, env: { ...process.env, TMPDIR: h.tmp }, stdio: ["ignore", out, out] });
          h.pids.push(proc.pid);
          expect(await proc.exited).toBe(0);
        } finally {
          closeSync(out);
        }
        const rec = JSON.parse(readFileSync(join(root, "pp2", "state.json"), "utf8"));
        if (rec.supervisor) h.pids.push(rec.supervisor.pid);
        try {
          expect((await oci(["start", "pp2"])).code).toBe(0);
          const ps = await oci(["ps", "pp2"]);
          expect([ps.code, ps.stderr]).toEqual([1, expect.stringContaining("ps is not supported yet for a container in a PID namespace joined by path")]);
        } finally {
          expect((await oci(["delete", "--force", "pp2"])).code).toBe(0);
        }
      } finally {
        if (init > 0) process.kill(init, "SIGKILL"); // the namespace's init: every process of it with it
        holder.kill("SIGKILL");
        await holder.exited;
      }
    }),
    60_000,
  );
  itest("a user namespace by path is joined first: the container is root in it, its maps the namespace's own, the other namespaces made in it", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      // A user namespace held by a process of the test's own, mapping 65536 ids to themselves (devpts' gid=5 among them).
      // The test writes the maps itself (unshare's --map-users goes through newuidmap and /etc/subuid).
      const holder = await holdNamespace("user", ["--user"]);
      const ns = holder.ns;
      try {
        writeFileSync(`/proc/${holder.pid}/uid_map`, "0 0 65536\n");
        writeFileSync(`/proc/${holder.pid}/gid_map`, "0 0 65536\n");
        // The tmpfs mounted at all says the mount namespace is owned by the joined one: its root has no capability over another.
        const probe = "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; mkdir /tmp/x && echo made";
        const b = await bundle(h, ["sh", "-c", probe], (c) => {
          c.linux.namespaces.push({ type: "user", path: `/proc/${holder.pid}/ns/user` });
          c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
        });
        const r = await run(h, root, b, "us1");
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual([ns, "0 0 65536", "0", "made", ""]);
        // The namespace's own maps: a config's mappings with it are refused, naming the field, nothing made.
        const m = await bundle(h, ["true"], (c) => {
          c.linux.namespaces.push({ type: "user", path: `/proc/${holder.pid}/ns/user` });
          c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
        });
        const e = await run(h, root, m, "us2");
        expect(e.code).toBe(1);
        expect(e.stderr).toContain("`linux.uidMappings` is not supported yet: id mappings with a user namespace given by path");
      } finally {
        await holder.stop();
      }
    }),
    60_000,
  );
  itest("a mount namespace by path is joined by PID 1: the root prepared and entered in it; ctr's own is refused, naming the field, nothing made", () =>
    onHost(async (h) => {
      const root = join(h.scratch(), "root");
      const holder = await holdNamespace("mnt", ["--mount", "--propagation", "private"]);
      const ns = holder.ns;
      const marker = join(bb.path, "ctr-marker");
      writeFileSync(marker, "the bundle's root\n");
      try {
        const b = await bundle(h, ["sh", "-c", "readlink /proc/self/ns/mnt; cat /ctr-marker"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "mount" ? { type: "mount", path: `/proc/${holder.pid}/ns/mnt` } : n));
        });
        const r = await run(h, root, b, "mn1");
        expect([r.code, r.stdout, r.stderr]).toEqual([0, `${ns}\nthe bundle's root\n`, ""]);
        // ctr's own mount namespace: the root would be prepared on the host. Refused before anything is made.
        const own = await bundle(h, ["true"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "mount" ? { type: "mount", path: "/proc/self/ns/mnt" } : n));
        });
        const e = await run(h, root, own, "mn2");
        expect(e.code).toBe(1);
        expect(e.stderr).toContain('config.json:/linux/namespaces/');
        expect(e.stderr).toContain('the mount namespace at "/proc/self/ns/mnt" is ctr\'s own');
      } finally {
        rmSync(marker, { force: true });
        await holder.stop();
      }
    }),
    60_000,
  );
});
