// The checker's look at the host: what is at a host path (a rootfs, a bind
// source, an overlay layer), so that a script the run would refuse for a
// missing directory is refused by `ctr check` and the REPL first. Relative
// paths are taken from ctr's working directory, as the run takes them. And the host's
// network links and addresses (one RTM_GETLINK and one RTM_GETADDR dump, read-only,
// runtime/features/net/host.ts), so that `net veth`/`net bridge` colliding with them is
// refused before anything is made.

import { statSync } from "node:fs";
import type { HostNetView, HostView } from "../lang/spec.ts";
import { DEFAULT_PATH } from "./features/process/process.ts";
import { realSys } from "../native/index.ts";
import { readHostNet } from "./features/net/host.ts";
import { Rtnl } from "./features/net/rtnl.ts";

export interface CountingHostView extends HostView {
  /** How many host paths the checker looked at. */
  readonly looked: number;
}

/**
 * `root`: where the container's files are seen from the host (the REPL's live
 * container), for isCommand; without one, the host's own programs stand in.
 */
export function hostView(root: () => string | null = () => null, remember = false): CountingHostView {
  let looked = 0;
  // `remember` (one compile of one script, not a REPL session that lasts): what a path
  // is, by path, so that a script naming one bind source a thousand times asks the
  // kernel once (each look still counts in `looked`).
  const kinds = new Map<string, "dir" | "file" | null>();
  let net: HostNetView | null | undefined;
  return {
    isCommand(name: string) {
      if (!/^[A-Za-z0-9._+-]+$/.test(name)) return false;
      const base = root() ?? "";
      return DEFAULT_PATH.split(":").some((dir) => {
        try {
          return statSync(`${base}${dir}/${name}`).isFile();
        } catch {
          return false;
        }
      });
    },
    net() {
      // Read once per view (a script's statements are checked against one reading); the
      // run reads them again right before it makes anything (NetHost.check).
      if (net === undefined) {
        try {
          net = readHostNet(new Rtnl(realSys));
        } catch {
          net = null; // no netlink here: the run's own check still refuses
        }
      }
      return net;
    },
    get looked() {
      return looked;
    },
    kind(path: string) {
      looked++;
      let k = remember ? kinds.get(path) : undefined;
      if (k !== undefined) return k;
      try {
        k = statSync(path).isDirectory() ? "dir" : "file";
      } catch {
        k = null;
      }
      if (remember) kinds.set(path, k);
      return k;
    },
  };
}
