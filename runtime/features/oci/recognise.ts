// How ctr knows it is called as an OCI runtime (commands.ts holds the
// command line), since its own lifecycle commands (`ctr kill NAME`, `ctr ps`,
// `ctr exec NAME`) share words with runc's:
//   - a global flag of runc's first (`--root`, `--log`, `--log-format`,
//     `--debug`, `--systemd-cgroup`, `--rootless`, `--criu`): always runc's;
//   - a verb only runc has: create, start, state, delete, run, features, spec,
//     list, pause, resume, update, events, checkpoint, restore;
//   - kill, ps, exec: runc's when their ID names a container of the default
//     OCI root (state.ts) and no named container of ctr's has that name.
// conmon calls `create`, `start`, `kill` and `delete` without global flags,
// hence the verbs rather than the flags alone. A script file named like a
// verb (`ctr create`) runs as `ctr ./create`; `ctr run x.ctr` is taken for a
// mistaken script run, not an OCI run of the id `x.ctr`. This file imports nothing
// heavy: every ctr command line goes through it.

import { existsSync } from "node:fs";
import { stateRoot } from "../../paths.ts";

/** runc's global flags that take a value, and those that do not. */
export const VALUE_FLAGS = new Set(["--root", "--log", "--log-format", "--criu", "--rootless"]);
export const BOOL_FLAGS = new Set(["--debug", "--systemd-cgroup"]);
/** The flags of runc's kill, ps and exec that take a value (as the next argument). */
const VERB_VALUE_FLAGS = new Set(
  ["format", "f", "process", "p", "pid-file", "console-socket", "cwd", "env", "e", "user", "u", "cap", "c", "process-label", "apparmor", "preserve-fds", "cgroup"].flatMap((f) => [`-${f}`, `--${f}`]),
);
const OCI_ONLY_VERBS = new Set(["create", "start", "state", "delete", "run", "features", "spec", "list", "pause", "resume", "update", "events", "checkpoint", "restore"]);

/** The default OCI root: ctr's state root with `-oci` appended (/run/ctr-oci as root). */
export const defaultRoot = (): string => `${stateRoot()}-oci`;

const globalFlag = (a: string): boolean => VALUE_FLAGS.has(a.split("=")[0]!) || BOOL_FLAGS.has(a) || BOOL_FLAGS.has(a.split("=")[0]!);

/** True when argv is a call of ctr as an OCI runtime (the header's rules). */
export function isOciInvocation(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return false;
  if (first === "--oci-supervise" || globalFlag(first)) return true;
  // `ctr run x.ctr` (or `run -e ...`) means a script: the CLI says how to run one.
  if (first === "run" && argv.slice(1).some((a) => a === "-e" || a.endsWith(".ctr"))) return false;
  if (OCI_ONLY_VERBS.has(first)) return true;
  if (first === "kill" || first === "ps" || first === "exec") {
    const rest = argv.slice(1);
    // The values of runc's flags of the verb are not the id (conmon: `exec --pid-file F --process F --detach ID`).
    const id = rest.find((a, i) => !a.startsWith("-") && !(i > 0 && VERB_VALUE_FLAGS.has(rest[i - 1]!)));
    if (id === undefined || !/^[\w+.-]+$/.test(id)) return false;
    return existsSync(`${defaultRoot()}/${id}/state.json`) && !existsSync(`${defaultRoot().replace(/-oci$/, "")}/${id}/state.json`);
  }
  return false;
}

