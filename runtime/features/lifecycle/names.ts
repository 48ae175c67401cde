// Container names (issue 15): unique per user, chosen by `--name` or made up.
//
// A name is the name of its record directory in the state root
// (runtime/features/lifecycle/store.ts), next to the per-container
// directories of runtime/statedir.ts, which are named `ctr-WORD-PID` and swept
// when PID no longer runs: a name must never look like one of those, or a
// sweep could take a record for a stale directory, nor like the shared
// monitor's files there (monitor-link.ts). Hence the rules below,
// checked before anything is made.

import { SysError } from "../../../native/error.ts";

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Why `name` cannot name a container, or null when it can. */
export function nameProblem(name: string): string | null {
  if (!NAME.test(name)) return "a name is 1 to 63 letters, digits, `_`, `.` or `-`, starting with a letter or digit";
  if (name.startsWith("ctr-")) return "names starting with `ctr-` are ctr's own (its per-container directories)";
  if (name.startsWith("monitor.")) return "names starting with `monitor.` are ctr's own (the shared monitor's socket and log, monitor-link.ts)";
  return null;
}

/** `name`, checked: a usage error (exit 2) when it cannot name a container. */
export function checkName(name: string): string {
  const why = nameProblem(name);
  if (why) throw new SysError({ message: `invalid container name ${JSON.stringify(name)}`, hint: why, status: 2 });
  return name;
}

const ADJECTIVES = ["amber", "brisk", "calm", "deft", "eager", "fond", "glad", "hale", "keen", "lucid", "merry", "noble", "plain", "quiet", "rapid", "sly", "tidy", "vivid", "warm", "young"];
const NOUNS = ["alder", "birch", "cedar", "dune", "elm", "fjord", "grove", "heath", "inlet", "juniper", "knoll", "larch", "maple", "oak", "pine", "reed", "sage", "tern", "vale", "wren"];

/** A short name for an unnamed container, e.g. "calm-reed-3f": the caller retries on a clash. */
export function generateName(): string {
  const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 256).toString(16).padStart(2, "0")}`;
}
