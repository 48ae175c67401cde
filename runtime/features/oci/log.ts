// The OCI runtime's log, as runc writes it and its clients read it:
// `--log FILE` (appended; stderr without it) and `--log-format text|json`.
// containerd and podman read the last `"level":"error"` line of a JSON log
// when a command fails, so every error goes there, one JSON object a line:
//   {"level":"error","msg":"container does not exist","time":"2026-...Z"}
// Text lines are logrus's: time="..." level=error msg="...".

import { appendFileSync } from "node:fs";
import { writeAllOrDrop } from "../../fdio.ts";

export type Level = "debug" | "info" | "warning" | "error";

export interface LogOptions {
  file: string | null;
  format: "text" | "json";
  debug: boolean;
}

export class OciLog {
  constructor(readonly opts: LogOptions) {}

  line(level: Level, msg: string): void {
    if (level === "debug" && !this.opts.debug) return;
    const time = new Date().toISOString();
    if (!this.opts.file) {
      // No log file: stderr, as a person reads it.
      writeAllOrDrop(2, `ctr: ${level === "error" ? "" : `${level}: `}${msg}\n`);
      return;
    }
    const text = this.opts.format === "json" ? JSON.stringify({ level, msg, time }) + "\n" : `time=${JSON.stringify(time)} level=${level} msg=${JSON.stringify(msg)}\n`;
    try {
      appendFileSync(this.opts.file, text, { mode: 0o600 });
    } catch {
      writeAllOrDrop(2, `ctr: ${msg}\n`);
    }
  }

  error(msg: string): void {
    this.line("error", msg);
    // runc says a fatal error on stderr too, whatever the log: a person at the terminal sees it.
    if (this.opts.file) writeAllOrDrop(2, `ctr: ${msg}\n`);
  }
}
