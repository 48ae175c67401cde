// A client of ctr as an OCI runtime (podman, containerd's ctr), killed by SIGKILL
// once its container is up: what the two clients' kill -9 tests share.
import { expect } from "bun:test";

/**
 * Waits until `p`'s stdout has carried the container's first line, "ready"
 * (the command prints it; it comes through the client's attach path), then
 * kills the client itself with SIGKILL and waits for it. The container's
 * monitor (conmon, the shim) is not the client's child, so it lives on.
 */
export async function killClientOnceReady(p: ReturnType<typeof Bun.spawn> & { stdout: ReadableStream<Uint8Array> }): Promise<void> {
  let out = "";
  const reader = (async () => {
    for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
  })();
  for (let i = 0; i < 500 && !out.includes("ready\n"); i++) await Bun.sleep(20);
  expect(out).toBe("ready\n");
  process.kill(p.pid, "SIGKILL");
  expect(await p.exited).toBe(137);
  await reader;
}
