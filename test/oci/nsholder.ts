// A namespace held for a test by a process of its own, for a bundle to name by
// `path`: `unshare --KIND sleep 100`, ready once `sleep` runs in it.

import { readFileSync, readlinkSync } from "node:fs";

export interface Holder {
  pid: number;
  /** The namespace as readlink(2) shows it ("net:[4026532…]"). */
  ns: string;
  stop(): Promise<void>;
}

/** `unshare ARGS sleep 100`, once `sleep` runs in a `kind` namespace (its name under /proc/PID/ns) that is not this process's; up to 10 s. */
export async function holdNamespace(kind: "net" | "cgroup" | "user" | "mnt", args: readonly string[]): Promise<Holder> {
  const p = Bun.spawn({ cmd: ["unshare", ...args, "sleep", "100"], stdio: ["ignore", "ignore", "inherit"] });
  const stop = async () => {
    p.kill("SIGKILL");
    await p.exited;
  };
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const ns = readlinkSync(`/proc/${p.pid}/ns/${kind}`);
      if (ns !== readlinkSync(`/proc/self/ns/${kind}`) && readFileSync(`/proc/${p.pid}/comm`, "utf8").trim() === "sleep") return { pid: p.pid, ns, stop };
    } catch {
      // not there yet
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`timed out waiting for \`unshare ${args.join(" ")}\` to hold a ${kind} namespace`);
    }
    await Bun.sleep(20);
  }
}
