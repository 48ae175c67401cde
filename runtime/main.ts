// ctr's entry (bin/ctr runs it). For start-up latency it starts PID 1
// (runtime/direct-start.ts) or stage 1 first, so the stage's Bun start-up
// overlaps ctr's, then loads the CLI from the bundles (runtime/bundle.ts);
// for `ctr exec`, its own bundle (runtime/exec-cli.ts). No static import: it
// would load before this file runs.
// Under 4 KiB: Bun caches a larger transpiled file in $HOME/.bun.

const root = `${import.meta.dir}/..`;
// As bundle.ts buildDir(), with Bun.Glob: node:fs would cost ~5 ms here (runtime/lazy-builtins.ts).
// A file Bun cannot stat (a dangling link, one removed since the listing) reports 2^52-1: it counts for nothing.
// One plain pattern per directory: a brace pattern costs ~0.3 ms more to match.
let newest = 0;
for (const [d, p] of [["runtime", "**/*.ts"], ["native", "**/*.ts"], ["lang", "**/*.ts"], ["stdlib", "**/*.ctr"]] as const) {
  for (const f of new Bun.Glob(p).scanSync({ cwd: `${root}/${d}`, dot: true })) {
    const t = Bun.file(`${root}/${d}/${f}`).lastModified;
    if (t < 2 ** 52 - 1) newest = Math.max(newest, t);
  }
}
const dir = `${root}/dist/${Math.floor(newest)}`;
const exists = (f: string) => Bun.file(f).size > 0;

const argv = process.argv.slice(2);
const NOT_A_RUN = new Set(["check", "explain", "compile", "rootfs", "image", "volume", "repl", "help", "--help", "-h", "--version", "-V", "ps", "exec", "logs", "stop", "kill", "rm", "inspect"]);
// ctr as an OCI runtime (features/oci/commands.ts): its supervisor starts the stage.
const OCI_WORDS = /^(--root|--log|--log-format|--debug|--systemd-cgroup|--rootless|--criu)(=|$)|^(create|start|state|delete|run|features|spec|list|pause|resume|update|events|checkpoint|restore)$/;
const first = argv.find((a) => a !== "--trace");
const at = argv.indexOf(first ?? "");
// `ctr -d`: its supervisor (features/lifecycle/supervise.ts) starts the stage.
let detaching = false;
for (let i = 0; i < argv.length && !detaching; i++) {
  const a = argv[i]!;
  if (a === "--name") i++;
  else if (a === "-d" || a === "--detach") detaching = true;
  else if (a !== "--trace") break;
}
const z = "0";
const env = { ...process.env, BUN_JSC_useConcurrentJIT: z, BUN_JSC_useConcurrentGC: z, BUN_JSC_useWarmUpMarkedBlocks: z, MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useJIT: z };

let early: Bun.Subprocess | null = null;
let direct: import("./direct-start.ts").Direct = null;
const run = first !== undefined && !NOT_A_RUN.has(first) && !OCI_WORDS.test(first) && !detaching && exists(`${dir}/init.js`);
if (run && argv[0] === first && exists(`${dir}/direct-start.js`)) {
  // A cached plan: no CLI; PID 1 at once if it needs no stage 1. require: 1.5 ms sooner than import() (docs/ARCHITECTURE.md)
  direct = (require(`${dir}/direct-start.js`) as typeof import("./direct-start.ts")).startDirect(argv, dir, env);
}
if (run) {
  // As Launch.spawn in runtime/host.ts, which adopts it.
  if (!direct?.pid1) early = Bun.spawn({ cmd: [process.execPath, `${dir}/init.js`, "stage1"], stdio: ["inherit", "inherit", "inherit", "pipe"], env });
}
const whole = async (): Promise<typeof import("./cli.ts")> => (exists(`${dir}/cli.js`) ? await import(`${dir}/cli.js`) : await import("./cli.ts"));
// `ctr exec`: exec-cli.ts alone, by require(): an import would start a loader thread (features/lifecycle/enter-here.ts).
const running: Promise<number> =
  first === "exec" && exists(`${dir}/exec-cli.js`)
    ? (require(`${dir}/exec-cli.js`) as typeof import("./exec-cli.ts")).main(argv.slice(at + 1), null, whole, newest)
    : direct?.run(early) ?? whole().then((cli) => cli.main(argv, early, newest));
// Awaited: Bun collects once this has run.
await running.then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`ctr: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(125);
  },
);
