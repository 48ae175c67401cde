// The hardening statements seen from inside a container (issue 16, Acceptance:
// each statement's effect for `exec`, `run` and `ctr exec`), shared by
// test/integration/sandbox.test.ts (as root) and test/userns/sandbox.test.ts
// (as uid 65534). One detached container per case: its `run` and its `exec`
// print the probe into its log, `ctr exec` prints it for a third process.

import { expect } from "bun:test";
import { probe, type CtrResult } from "./host-state.ts";

/** Printed as `@@VIA.key=value` lines, VIA being the shell's $0. */
export const PROBE = [
  's=$(grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status)',
  "echo @@$0.status=$s",
  'echo "@@$0.nofile=$(ulimit -n):$(ulimit -Hn)"',
  "echo @@$0.id=$(id -u) $(id -g) $(id -G)",
  'echo "@@$0.write=$(touch /probe-file 2>&1)"',
  'echo "@@$0.masked=$(wc -c < /proc/cpuinfo)"',
].join("; ");

/** Tries sethostname, then prints the hostname (GNU hostname says "you must be root" for EPERM alone). */
export const HOSTNAME_PROBE = 'r=$(hostname x 2>&1); echo "@@$0.sethostname=$? $r"; echo "@@$0.hostname=$(hostname)"';

export type Userns = "none" | "own" | "range";

function head(userns: Userns, rootfs: string | null): string[] {
  return [userns === "none" ? "ns uts, pid, mnt" : "ns user, uts, pid, mnt", ...(userns === "range" ? ["map uid 0 100000 65536", "map gid 0 100000 65536"] : []), "hostname box", ...(rootfs ? [`rootfs ${rootfs}`] : []), "mount proc"];
}

/** Every statement at once: read-only root, a masked file, capabilities, no_new_privs, an rlimit, Docker's profile and (`user`) nobody. */
/** `rootfs`: null for none (the host's files, seen read-only through the container's mount namespace). */
export function hardenedScript(userns: Userns, user: boolean, rootfs: string | null = "default"): string {
  return [
    ...head(userns, rootfs),
    "readonly /",
    "mask /proc/cpuinfo",
    "cap drop all",
    "cap add chown, kill, net_bind_service",
    "no_new_privs",
    "rlimit nofile 100:200",
    "seccomp default",
    ...(user ? ["user nobody groups=100"] : []),
    `run sh -c '${PROBE}' run`,
    `exec sh -c '${PROBE}; exec sleep 1000' exec`,
  ].join("\n");
}

/** A profile denying sethostname (a root that keeps CAP_SYS_ADMIN); a `run` before it shows the call works without it. */
export function seccompScript(userns: Userns, profile: string): string {
  return [...head(userns, "default"), "run hostname before", `seccomp ${profile}`, `run sh -c '${HOSTNAME_PROBE}' run`, `exec sh -c '${HOSTNAME_PROBE}; exec sleep 1000' exec`].join("\n");
}

export const DENY_SETHOSTNAME = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] });

/** The caps the hardened script keeps: chown (0), kill (5), net_bind_service (10). */
const KEPT = "0000000000000421";

/** What the probe must print for each of run, exec and ctr exec. */
export function expectHardened(out: Record<string, string>, user: boolean): void {
  for (const via of ["run", "exec", "ctr-exec"]) {
    const got: Record<string, string | undefined> = Object.fromEntries(["status", "nofile", "id", "write", "masked"].map((k) => [k, out[`${via}.${k}`]]));
    expect<Record<string, string | undefined>>({ via, ...got }).toEqual({
      via,
      // a non-root user keeps what `cap add` gave through the ambient set
      status: `CapEff: ${KEPT} CapBnd: ${KEPT} CapAmb: ${user ? KEPT : "0000000000000000"} NoNewPrivs: 1 Seccomp: 2`,
      nofile: "100:200",
      id: user ? "65534 65534 65534 100" : "0 0 0",
      write: "touch: cannot touch '/probe-file': Read-only file system",
      masked: "0",
    });
  }
}

export function expectHostnameDenied(out: Record<string, string>): void {
  for (const via of ["run", "exec", "ctr-exec"]) {
    expect({ via, set: out[`${via}.sethostname`], name: out[`${via}.hostname`] }).toEqual({ via, set: "1 hostname: you must be root to change the host name", name: "before" });
  }
}

/**
 * Start `script` detached as NAME, `ctr exec` the probe in it, read its log,
 * remove it; `ctr` runs ctr (as root or as the user). The probes of the three.
 */
export async function probeDetached(ctr: (args: string[]) => Promise<CtrResult>, name: string, script: string, execProbe: string): Promise<Record<string, string>> {
  const started = await ctr(["-d", "--name", name, "-e", script]);
  try {
    expect({ code: started.code, err: started.stderr }).toEqual({ code: 0, err: "" });
    // The log has the exec's lines once PID 1 is the command: wait for the
    // last of them (the shell echoes one line at a time, so the first one
    // can be in the log while the later ones are still being computed).
    const last = [...execProbe.matchAll(/@@\$0\.(\w+)=/g)].at(-1)![1]!;
    const done = new RegExp(`^@@exec\\.${last}=.*$`, "m");
    let log = "";
    for (let i = 0; i < 200 && !done.test(log); i++) {
      log = (await ctr(["logs", name])).stdout;
      if (!done.test(log)) await Bun.sleep(50);
    }
    const ex = await ctr(["exec", name, "sh", "-c", execProbe, "ctr-exec"]);
    expect(ex.stderr).toBe("");
    return { ...probe(log), ...probe(ex.stdout) };
  } finally {
    await ctr(["rm", "-f", name]);
  }
}
