// A client's interactive command run through a pseudo-terminal, as a user at a
// terminal runs it (`podman run -it`, `podman exec -it`, containerd's `tasks
// exec -t`): script(1) gives it one. The input is typed once the container's
// shell shows its prompt (`#`).

import type { Host } from "../integration/host-state.ts";

/** `argv` under script(1) with `typed` as its input once the prompt shows: the exit status and the output, without carriage returns. */
export async function throughPty(h: Host, script: string, argv: readonly string[], typed: string): Promise<{ code: number; text: string }> {
  const cmd = argv.map((a) => `'${a}'`).join(" ");
  const p = Bun.spawn({ cmd: [script, "-qec", cmd, "/dev/null"], stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  h.pids.push(p.pid);
  let out = "";
  const reader = (async () => {
    for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
  })();
  for (let i = 0; i < 300 && !out.includes("#"); i++) await Bun.sleep(20);
  p.stdin.write(typed);
  await p.stdin.flush();
  const code = await p.exited;
  await reader;
  return { code, text: out.replaceAll("\r", "") };
}

/** What the shell prints for the probe below: its terminal and whether it leads its session (the terminal its controlling one). */
export const TTY_PROBE = "echo tty=$(tty) sid=$(cut -d' ' -f6 /proc/$$/stat) self=$$; echo typed-$((6*7))\nexit 4\n";
