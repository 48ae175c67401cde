// ctr's entry (bin/ctr runs it). It starts PID 1 (runtime/direct-start.ts) or stage 1
// first, so the stage's start-up overlaps ctr's, then loads the CLI from the bundles
// (runtime/bundle.ts); `ctr exec`, its own (runtime/exec-cli.ts). No static import: it
// would load before this runs. Under 4 KiB: Bun caches a larger transpiled file in $HOME/.bun.

const root = `${import.meta.dir}/..`;
const exists = (f: string) => Bun.file(f).size > 0;
const argv = process.argv.slice(2);
const NOT_A_RUN = new Set(["check", "explain", "compile", "rootfs", "image", "volume", "repl", "help", "--help", "-h", "--version", "-V", "ps", "exec", "logs", "stop", "kill", "rm", "inspect"]);
// ctr as an OCI runtime (features/oci/commands.ts), `ctr -d` (features/lifecycle/supervise.ts): a supervisor starts the stage.
const OCI_WORDS = /^(--root|--log|--log-format|--debug|--systemd-cgroup|--rootless|--criu)(=|$)|^(create|start|state|delete|run|features|spec|list|pause|resume|update|events|checkpoint|restore)$/;
const first = argv.find((a) => a !== "--trace");
const at = argv.indexOf(first ?? "");
let detaching = false;
for (let i = 0; i < argv.length && !detaching; i++) {
  const a = argv[i]!;
  if (a === "--name") i++;
  else if (a === "-d" || a === "--detach") detaching = true;
  else if (a !== "--trace") break;
}
const plain = first !== undefined && !NOT_A_RUN.has(first) && !OCI_WORDS.test(first) && !detaching;
const z = "0";
const env = { ...process.env, BUN_JSC_useConcurrentJIT: z, BUN_JSC_useConcurrentGC: z, BUN_JSC_useWarmUpMarkedBlocks: z, MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useJIT: z };
type DS = typeof import("./direct-start.ts");
let direct: ReturnType<DS["startDirect"]> = null;
let newest = 0;
const cur = `${root}/dist/current/direct-start.js`;
const guessed = plain && argv[0] === first && exists(cur);
if (guessed) {
  // A cached plan: PID 1 at once, from the build dist/current names, checked against the sources
  // next (runtime/sources.ts), undone if stale. require: 1.5 ms sooner than import().
  const ds = require(cur) as DS;
  direct = ds.startDirect(argv, env);
  newest = ds.sourcesStamp(root);
  if (!newest) await ds.abandon(direct), (direct = null);
}
if (!newest) {
  // As bundle.ts newestSource(), by Bun.Glob: node:fs costs ~5 ms (runtime/lazy-builtins.ts). A file Bun
  // cannot stat reports 2^52-1: it counts for nothing. A brace pattern would cost ~0.3 ms more.
  for (const [d, p] of [["runtime", "**/*.ts"], ["native", "**/*.ts"], ["lang", "**/*.ts"], ["stdlib", "**/*.ctr"]] as const) {
    for (const f of new Bun.Glob(p).scanSync({ cwd: `${root}/${d}`, dot: true })) {
      const t = Bun.file(`${root}/${d}/${f}`).lastModified;
      if (t < 2 ** 52 - 1) newest = Math.max(newest, t);
    }
  }
}
const dir = `${root}/dist/${Math.floor(newest)}`;
const run = plain && exists(`${dir}/init.js`);
// Not after a guess: a sound one started; after one undone, the CLI (it fixes dist/current).
if (run && !guessed && argv[0] === first && exists(`${dir}/direct-start.js`)) direct = (require(`${dir}/direct-start.js`) as DS).startDirect(argv, env);
// As Launch.spawn (runtime/host.ts), which adopts it.
const early = run && !direct?.pid1 ? Bun.spawn({ cmd: [process.execPath, `${dir}/init.js`, "stage1"], stdio: ["inherit", "inherit", "inherit", "pipe"], env }) : null;
const whole = async (): Promise<typeof import("./cli.ts")> => (exists(`${dir}/cli.js`) ? await import(`${dir}/cli.js`) : await import("./cli.ts"));
// `ctr exec`: by require(): an import starts a loader thread (features/lifecycle/enter-here.ts).
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
