// A stand-in for a directly started PID 1 (runtime/features/ns/direct.ts), for
// direct-ready.test.ts: it says "ready" only once the file CTR_FAKE_GATE exists,
// and reports on stdout whether a SIGTERM reached it before or after that. Then it
// answers each operation "done" and ends on "exit". CTR_FAKE_START=error: it
// fails to start instead, as a PID 1 whose unshare of its mount namespace
// fails does (runtime/init.ts); =exit: it ends without a word. Started by the
// test's driver, which adopts it as ctr's direct start does (Launch.adopt).
import { existsSync, readSync, writeSync } from "node:fs";

const FD = 3;
let ready = false;
process.on("SIGTERM", () => {
  writeSync(1, `SIGTERM ${ready ? "after" : "before"} ready\n`);
  process.exit(143);
});
while (!existsSync(process.env.CTR_FAKE_GATE ?? "")) await Bun.sleep(10);
if (process.env.CTR_FAKE_START === "error") {
  writeSync(FD, `${JSON.stringify({ t: "error", error: { errno: 1, code: "EPERM", syscall: "unshare", args: ["CLONE_NEWNS"], message: "unshare(CLONE_NEWNS): EPERM (operation not permitted)" } })}\n`);
  process.exit(125);
}
if (process.env.CTR_FAKE_START === "exit") process.exit(3);
writeSync(FD, `{"t":"ready"}\n`);
ready = true;
const buf = Buffer.alloc(65536);
let text = "";
for (;;) {
  await Bun.sleep(5); // the event loop turns, so the SIGTERM handler can run
  let n = 0;
  try {
    n = readSync(FD, buf);
  } catch {
    continue; // EAGAIN: nothing yet
  }
  if (n === 0) process.exit(0);
  text += buf.toString("utf8", 0, n);
  for (let nl; (nl = text.indexOf("\n")) >= 0; ) {
    const msg = JSON.parse(text.slice(0, nl)) as { t: string; id?: number };
    text = text.slice(nl + 1);
    if (msg.t === "op") writeSync(FD, `{"t":"done","id":${msg.id}}\n`);
    if (msg.t === "exit") process.exit(0);
  }
}
