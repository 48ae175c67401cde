// The checker's look at the host: what is at a host path (a rootfs, a bind
// source, an overlay layer), so that a script the run would refuse for a
// missing directory is refused by `ctr check` and the REPL first. Relative
// paths are taken from ctr's working directory, as the run takes them.

import { statSync } from "node:fs";
import type { HostView } from "../lang/spec.ts";
import { DEFAULT_PATH } from "./features/process/process.ts";

export interface CountingHostView extends HostView {
  /** How many host paths the checker looked at. */
  readonly looked: number;
}

/**
 * `root`: where the container's files are seen from the host (the REPL's live
 * container), for isCommand; without one, the host's own programs stand in.
 */
export function hostView(root: () => string | null = () => null): CountingHostView {
  let looked = 0;
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
