// A stand-in for ctr's init stage that misbehaves on the control channel (fd 3)
// as a compromised or broken PID 1 could. Started by Launch.spawn in place of
// the init bundle; CTR_FAKE_PEER says what to send.
import { writeSync } from "node:fs";

const FD = 3;
const put = (text: string | Uint8Array) => {
  const b = typeof text === "string" ? Buffer.from(text) : text;
  for (let off = 0; off < b.length; ) off += writeSync(FD, b, off, b.length - off);
};
const hello = () => put(`{"t":"unshared","pid":${process.pid}}\n{"t":"spawned","pid":${process.pid}}\n`);

switch (process.env.CTR_FAKE_PEER) {
  case "long": {
    // 300 MiB without a newline, then silence.
    const mib = Buffer.alloc(1 << 20, "x");
    for (let i = 0; i < 300; i++) put(mib);
    await Bun.sleep(60_000);
    break;
  }
  case "garbage":
    put("this is not json\n");
    await Bun.sleep(60_000);
    break;
  case "shape":
    put(`{"t":"unshared","pid":"${process.pid}"}\n`);
    await Bun.sleep(60_000);
    break;
  case "truncated":
    put(`{"t":"unshared","pi`);
    process.exit(0);
    break;
  case "bad-result":
    hello();
    put(`{"t":"done","id":1,"result":{"exitCode":"0","signal":null}}\n`);
    await Bun.sleep(60_000);
    break;
  case "valid":
    // The control: a well-behaved peer, so a failure above is the channel's doing.
    hello();
    put(`{"t":"done","id":1}\n`);
    await Bun.sleep(300);
    process.exit(0);
}
