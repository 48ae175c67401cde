// `ctr exec NAME CMD` on its own: the part of the CLI that runtime/main.ts
// loads for an exec, bundled as dist/<stamp>/exec-cli.js (runtime/bundle.ts).
// Why a bundle of its own: an exec's latency is a benchmark against runc
// (bench/lifecycle.ts), and loading the whole CLI bundle (the language, the
// planner, every statement) cost more than the exec itself. This process
// usually enters the container itself (features/lifecycle/enter-here.ts: it
// must stay single-threaded until then, so main.ts require()s this bundle and
// bin/ctr gives `exec` SINGLE_THREAD_ENV); -t and the specs that need it go
// through the enter stage (features/lifecycle/enter.ts). Anything but an exec
// of one of ctr's containers (an OCI container's id, see
// features/oci/recognise.ts) goes to the whole CLI, as do its errors in
// writing (cli.ts writeFailed).

import { knownNewestSource } from "./bundle.ts";
import { isOciInvocation } from "./features/oci/recognise.ts";
import { execCommand } from "./features/lifecycle/commands.ts";
import { WriteError } from "./fdio.ts";

/**
 * Like cli.ts main for `ctr exec ARGS` (`argv` without the word exec); `early`:
 * an enter stage already started, if any; `newest`: the sources' time main.ts
 * found (its build directory, not scanned again).
 */
export async function main(argv: string[], early: ReturnType<typeof Bun.spawn> | null, whole: () => Promise<typeof import("./cli.ts")>, newest = 0): Promise<number> {
  knownNewestSource(newest);
  if (isOciInvocation(["exec", ...argv])) return (await whole()).main(["exec", ...argv], early, newest);
  try {
    return await execCommand(argv, early);
  } catch (e) {
    if (e instanceof WriteError) return (await whole()).writeFailed(e);
    throw e;
  }
}
