/**
 * The protocol version in the plan: stage 1 answers a plan of another version
 * (a stale init bundle, or a ctr of other sources) with an error naming both
 * versions, before it does anything with the plan. Stage 1 runs from the
 * sources with no namespaces, so nothing here needs root.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Launch } from "../../runtime/host.ts";
import { PROTOCOL, protocolMismatch, type StageMessage } from "../../runtime/channel/messages.ts";

const INIT = join(import.meta.dir, "..", "..", "runtime", "init.ts");
const launched: Launch[] = [];

afterEach(async () => {
  for (const l of launched.splice(0)) await l.cancel();
});

function start(): Launch {
  const l = Launch.spawn(INIT);
  launched.push(l);
  return l;
}

/** A plan as the host sends it, with `v` replaced (or left out when undefined). */
function plan(v: number | undefined, extra: Record<string, unknown> = {}): never {
  return { t: "plan", ...(v === undefined ? {} : { v }), namespaces: [], trace: false, wait: false, ...extra } as never;
}

async function errorFor(v: number | undefined, extra?: Record<string, unknown>): Promise<{ message: string; hint?: string; status: number | null }> {
  const l = start();
  l.channel.send(plan(v, extra));
  const reply = await l.channel.next();
  expect(reply?.t).toBe("error");
  const { error } = reply as Extract<StageMessage, { t: "error" }>;
  expect(await l.stage1.exited).toBe(125);
  return { message: error.message, hint: error.hint, status: error.status ?? null };
}

describe("the protocol version of the plan", () => {
  test("a plan of this version is served (the control): unshared, spawned, and an exit ends it", async () => {
    const l = start();
    l.channel.send(plan(PROTOCOL));
    expect((await l.channel.next())?.t).toBe("unshared");
    expect((await l.channel.next())?.t).toBe("spawned");
    l.channel.send({ t: "exit" });
    expect(await l.stage1.exited).toBe(0);
  }, 20_000);

  test("a plan of a newer version gets the error naming both versions, status 125", async () => {
    const e = await errorFor(PROTOCOL + 1);
    expect(e.message).toBe(`ctr's init stage speaks protocol ${PROTOCOL}, this ctr ${PROTOCOL + 1}: the init stage "${INIT}" is not from this ctr's sources`);
    expect(e.hint).toBe("start the init stage of the same sources as ctr");
    expect(e.status).toBe(125);
  }, 20_000);

  test("a plan without a version is protocol 0, and fields this protocol does not know do not hide the mismatch", async () => {
    const e = await errorFor(undefined, { namespaces: "all of them", mounts: [{}] });
    expect(e.message.startsWith(`ctr's init stage speaks protocol ${PROTOCOL}, this ctr 0: `)).toBe(true);
  }, 20_000);

  test("a stale build of ctr's bundles is named, to be removed", () => {
    const e = protocolMismatch(7, "/opt/ctr/dist/1764650000000/init.js");
    expect(e.message).toBe(`ctr's init stage speaks protocol ${PROTOCOL}, this ctr 7: the init stage "/opt/ctr/dist/1764650000000/init.js" is not from this ctr's sources`);
    expect(e.hint).toBe('remove the stale build "/opt/ctr/dist/1764650000000": ctr builds it again on its next run');
  });
});
