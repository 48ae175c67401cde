// Kernel parameters under /proc/sys, and which of them a container may set.
//
// The kernel's rules that shape this file:
//   - A few sysctls belong to a namespace: every file under /proc/sys/net shows and sets the
//     network namespace of the process that opens it; kernel.hostname and kernel.domainname
//     the UTS namespace's names; kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax, shmmni,
//     shm_rmid_forced and fs/mqueue/* the IPC namespace's limits. Those are the ones runc
//     accepts in config.json's linux.sysctl, each only with its namespace. Every other
//     sysctl (kernel.core_pattern, vm.*, most of fs.*) has one value for the whole machine:
//     writing it from a container changes the host, so the checker refuses it.
//   - Which namespace a /proc/sys file shows is decided by the process that opens it, not by
//     the procfs mount: PID 1 (in the container's namespaces) writes through a proc of its
//     own, made with fsopen("proc") and never attached (a detached mount: nothing of the
//     container's tree, where a process could have mounted something else on /proc, is
//     looked up), and the file is opened from that mount's descriptor.

import type { ExplainNotes } from "../../explain.ts";
import {
  AT_FDCWD,
  FSCONFIG_CMD_CREATE,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  SysError,
} from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";

/** The namespace a sysctl belongs to, or null for one the whole machine shares. */
export function sysctlNamespace(key: string): "net" | "uts" | "ipc" | null {
  const k = normalKey(key);
  if (k.startsWith("net.")) return "net";
  if (k === "kernel.hostname" || k === "kernel.domainname") return "uts";
  if (IPC_KEYS.has(k) || k.startsWith("fs.mqueue.")) return "ipc";
  return null;
}

const IPC_KEYS = new Set(["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]);

/** The top-level directories of /proc/sys: a key under none of them is unknown wherever it is checked. */
export const SYSCTL_TOPS = new Set(["abi", "crypto", "debug", "dev", "fs", "kernel", "net", "sunrpc", "user", "vm"]);

/** What the help of a refusal lists: the sysctls ctr sets, and the namespace each needs. */
export const NAMESPACED_HELP = "only namespaced sysctls can be set: net.* (with `ns net`), kernel.hostname and kernel.domainname (`ns uts`), kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax, shmmni, shm_rmid_forced and fs.mqueue.* (`ns ipc`)";

/** A key as sysctl(8) writes it: dots between the parts ("net/ipv4/ip_forward" is the same key). */
export function normalKey(key: string): string {
  return key.includes("/") ? key.split("/").filter(Boolean).join(".") : key;
}

/** The file of `key` under /proc/sys, relative to a proc's root: "sys/net/ipv4/ip_forward". */
export function sysctlFile(key: string): string {
  return "sys/" + normalKey(key).split(".").join("/");
}

/** A key's shape: parts of letters, digits, `_` and `-`, no empty part. */
export const SYSCTL_KEY = /^[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)+$/;

/** Write each value to its key, through a proc of PID 1's own (see the rules above). */
export function writeSysctls(st: AgentState, values: readonly (readonly [string, string])[]): void {
  const sys = st.sys;
  const ctx = sys.fsopen("proc", FSOPEN_CLOEXEC);
  let proc: number;
  try {
    sys.fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
    proc = sys.fsmount(ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  } catch (e) {
    // In a user namespace without `ns pid` the kernel allows no new proc (its PID namespace
    // belongs to the host's user namespace): write through the /proc PID 1 reaches now (the
    // host's copy until the root is entered; the container's after, which a process inside
    // may have replaced, but then only with files of the container's own namespaces).
    if (!(e instanceof SysError) || e.code !== "EPERM") throw e;
    proc = sys.openat2(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  } finally {
    sys.close(ctx);
  }
  try {
    for (const [key, value] of values) {
      let fd: number;
      try {
        fd = sys.openat(proc, sysctlFile(key), O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
      } catch (e) {
        if (e instanceof SysError && e.code === "ENOENT") {
          e.message = `sysctl ${normalKey(key)}: there is no /proc/${sysctlFile(key)} in the container's namespaces`;
          e.hint ??= "some net.* keys exist only in the host's network namespace (the kernel does not give a new one its own)";
        }
        throw e;
      }
      try {
        sys.write(fd, value);
      } catch (e) {
        if (e instanceof SysError) e.message = `sysctl ${normalKey(key)}=${JSON.stringify(value)}: ${e.message}`;
        throw e;
      } finally {
        sys.close(fd);
      }
    }
  } finally {
    sys.close(proc);
  }
}

/** explain's comments on writeSysctls's calls (runtime/explain.ts derives the calls from it). */
export function sysctlNotes(): ExplainNotes {
  return {
    calls: { fsopen: "a proc of PID 1's own, never attached: /proc/sys shows the namespaces of the process that opens it" },
    after: ["in a user namespace without `ns pid` the kernel refuses the new proc (EPERM): the keys are then opened from openat2(AT_FDCWD, \"/proc\"), the /proc PID 1 reaches now"],
  };
}
