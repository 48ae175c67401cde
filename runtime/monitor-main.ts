// The shared monitor's entry (runtime/features/lifecycle/monitor.ts), started
// by `ctr -d` (features/lifecycle/monitor-link.ts): a small one, so that the
// monitor, which lives as long as the user's detached containers, loads
// neither the CLI nor the language.

import { runMonitor } from "./features/lifecycle/monitor.ts";

runMonitor();
