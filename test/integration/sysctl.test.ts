// `sysctl` for real (runtime/features/sysctl/): the values are seen from inside the container,
// in its own namespaces, and the host's stay what they were; a host-global key is refused
// before anything starts.

import { describe, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { itest, onHost, probe } from "./host-state.ts";

const read = (key: string) => readFileSync(`/proc/sys/${key.split(".").join("/")}`, "utf8").trim();

describe("sysctl", () => {
  itest("net.*, kernel.domainname and kernel.shmmni set inside (net, uts, ipc namespaces); the host's values unchanged", () =>
    onHost(async (h) => {
      const keys = ["net.ipv4.ip_forward", "kernel.domainname", "kernel.shmmni", "net.ipv4.ping_group_range"];
      const before = Object.fromEntries(keys.map((k) => [k, read(k)]));
      // Values that differ from the host's, so that seeing them inside proves the write.
      const want = {
        "net.ipv4.ip_forward": before["net.ipv4.ip_forward"] === "1" ? "0" : "1",
        "kernel.domainname": "ctr-sysctl.test",
        "kernel.shmmni": String(Number(before["kernel.shmmni"]) - 7),
        "net.ipv4.ping_group_range": before["net.ipv4.ping_group_range"] === "0\t0" ? "1\t1" : "0\t0",
      };
      const script = [
        "ns net, uts, ipc, mnt, pid",
        "rootfs default",
        "mount proc",
        `sysctl ${keys.map((k) => `${k}="${want[k as keyof typeof want].replace("\t", " ")}"`).join(" ")}`,
        `run sh -c '${keys.map((k) => `echo "@@${k}=$(cat /proc/sys/${k.split(".").join("/")})"`).join("; ")}'`,
      ].join("\n");
      const r = await h.ctr(["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const inside = probe(r.stdout);
      for (const k of keys) expect({ k, inside: inside[k] }).toEqual({ k, inside: want[k as keyof typeof want] });
      for (const k of keys) expect({ k, host: read(k) }).toEqual({ k, host: before[k] });
    }),
  );

  itest("a host-global key is refused by the checker: exit 2, nothing started, the host's value unchanged", () =>
    onHost(async (h) => {
      const before = read("kernel.core_pattern");
      const r = await h.ctr(["-e", "ns net, uts, ipc, mnt, pid\nsysctl kernel.core_pattern=/tmp/ctrtest-core\nrun true"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("`sysctl kernel.core_pattern` would change the host");
      expect(read("kernel.core_pattern")).toBe(before);
    }),
  );
});
