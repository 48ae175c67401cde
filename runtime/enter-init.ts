// `ctr exec`'s enter stage on its own (runtime/features/lifecycle/enter.ts),
// bundled as dist/<stamp>/enter-init.js (runtime/bundle.ts): the stage loads
// this fraction of the init bundle, not the whole of it (PID 1's executors,
// stage 1's). It is started as init.js would be (`enter` as its argument, the
// single-thread environment); the exec stage it may start is init.js's.

import { enterStage } from "./features/lifecycle/enter.ts";

if (process.argv[2] === "enter") enterStage();
