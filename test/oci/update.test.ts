// `update`'s reading of runc's flags and of a linux.resources object
// (runtime/features/oci/update.ts): the limits built, the flags winning over
// the object, and what ctr cannot change refused by name. The writes to a
// real container's cgroups are in runtime.test.ts.

import { describe, expect, test } from "bun:test";
import { fromResources, limitsOf, wanted } from "../../runtime/features/oci/update.ts";

const flags = (o: Record<string, string>) => new Map<string, string | true>(Object.entries(o));

describe("ctr update: resources and flags", () => {
  test("the spec's memory.swap is memory and swap together; cpu quota over period as a percent; cpuset and pids", () => {
    expect(limitsOf(fromResources({ memory: { limit: 100 << 20, swap: 150 << 20 }, cpu: { quota: 50000, period: 200000, shares: 512, cpus: "0-1", mems: "0" }, pids: { limit: 20 } }))).toEqual([
      { controller: "memory", bytes: 100 << 20, swapBytes: 50 << 20 },
      { controller: "cpu", percent: 25, periodUs: 200000, weight: null, shares: 512 },
      { controller: "cpuset", cpus: "0-1", mems: "0" },
      { controller: "pids", max: 20 },
    ]);
    // Shares alone leave the quota as it is (nothing written to it).
    expect(limitsOf(fromResources({ cpu: { shares: 100 } }))).toEqual([{ controller: "cpu", percent: null, periodUs: null, weight: null, shares: 100 }]);
  });

  test("the flags win over --resources; --memory-swap is memory and swap together, as runc's", () => {
    const w = wanted(flags({ resources: "-", memory: "200000000", "pids-limit": "9" }), () => JSON.stringify({ memory: { limit: 1 << 30 }, pids: { limit: 5 } }));
    expect(limitsOf(w)).toEqual([
      { controller: "memory", bytes: 200000000, swapBytes: null },
      { controller: "pids", max: 9 },
    ]);
    expect(limitsOf(wanted(flags({ memory: "100", "memory-swap": "300" }), () => ""))[0]).toEqual({ controller: "memory", bytes: 100, swapBytes: 200 });
  });

  test("what ctr cannot change: refused by name", () => {
    expect(() => fromResources({ blockIO: { weight: 10 } })).toThrow("update: resources.blockIO is not supported yet");
    expect(() => fromResources({ memory: { reservation: 10 } })).toThrow("update: resources.memory.reservation is not supported yet");
    expect(() => wanted(flags({ "blkio-weight": "10" }), () => "")).toThrow("update --blkio-weight is not supported yet");
    expect(() => limitsOf({ memory: 100, swap: 50 })).toThrow("memory.swap (50) is below memory.limit (100)");
    expect(() => limitsOf({ swap: 50 })).toThrow("memory.swap without memory.limit is not supported yet");
    expect(() => limitsOf({ period: 1000 })).toThrow("cpu.period without cpu.quota is not supported yet");
    expect(() => limitsOf({ pids: -1 })).toThrow("pids.limit -1 (no limit) is not supported yet");
    expect(limitsOf(wanted(flags({ memory: "12m" }), () => ""))[0]).toEqual({ controller: "memory", bytes: 12 << 20, swapBytes: null });
    expect(() => wanted(flags({ memory: "12 apples" }), () => "")).toThrow('update: invalid size "12 apples"');
    expect(() => wanted(flags({ resources: "-" }), () => "{not json")).toThrow("update: the resources in standard input are not JSON");
  });
});
