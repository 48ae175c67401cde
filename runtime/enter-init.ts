// `ctr exec`'s enter stage on its own (runtime/features/lifecycle/enter.ts),
// bundled as dist/<stamp>/enter-init.js (runtime/bundle.ts): the stage loads
// this fraction of the init bundle, not the whole of it (PID 1's executors,
// stage 1's). It is started as init.js would be (`enter` as its argument, the
// single-thread environment); the exec stage it may start is init.js's.
// `guard CTR NS PID`: the guard of a `ctr exec` that enters the container itself
// (runtime/features/lifecycle/guard.ts, enter-here.ts).

import { enterStage } from "./features/lifecycle/enter.ts";
import { guardStage } from "./features/lifecycle/guard.ts";
import { openStartOomScore } from "./features/cgroup/oomscore.ts";

openStartOomScore(); // before the stage enters the container (runtime/features/cgroup/oomscore.ts)

if (process.argv[2] === "enter") enterStage();
else if (process.argv[2] === "guard") {
  const [ctr, ns, pid] = process.argv.slice(3).map((a) => (/^\d+$/.test(a) ? Number(a) : null));
  guardStage(ctr ?? 0, ns ?? null, pid ?? null);
}
