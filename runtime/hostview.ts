// The checker's look at the host: what is at a host path (a rootfs, a bind
// source, an overlay layer), so that a script the run would refuse for a
// missing directory is refused by `ctr check` and the REPL first. Relative
// paths are taken from ctr's working directory, as the run takes them.

import { statSync } from "node:fs";
import type { HostView } from "../lang/spec.ts";

export interface CountingHostView extends HostView {
  /** How many host paths the checker looked at. */
  readonly looked: number;
}

export function hostView(): CountingHostView {
  let looked = 0;
  return {
    get looked() {
      return looked;
    },
    kind(path: string) {
      looked++;
      try {
        return statSync(path).isDirectory() ? "dir" : "file";
      } catch {
        return null;
      }
    },
  };
}
