// `ctr exec NAME CMD` on its own: the part of the CLI that runtime/main.ts
// loads for an exec, bundled as dist/<stamp>/exec-cli.js (runtime/bundle.ts).
// Why a bundle of its own: an exec's latency is a benchmark against runc
// (bench/lifecycle.ts), and loading the whole CLI bundle (the language, the
// planner, every statement) took longer than the exec stage's own start-up,
// which runtime/main.ts overlaps with it. Anything but a plain exec of one of
// ctr's containers (an OCI container's id, see features/oci/recognise.ts) goes
// to the whole CLI, as do its errors in writing (cli.ts writeFailed).

import { isOciInvocation } from "./features/oci/recognise.ts";
import { execCommand } from "./features/lifecycle/commands.ts";
import { WriteError } from "./fdio.ts";

/** Like cli.ts main for `ctr exec ARGS` (`argv` without the word exec); `early`: the enter stage runtime/main.ts started. */
export async function main(argv: string[], early: ReturnType<typeof Bun.spawn> | null, whole: () => Promise<typeof import("./cli.ts")>): Promise<number> {
  if (isOciInvocation(["exec", ...argv])) return (await whole()).main(["exec", ...argv], early);
  try {
    return await execCommand(argv, early);
  } catch (e) {
    if (e instanceof WriteError) return (await whole()).writeFailed(e);
    throw e;
  }
}
