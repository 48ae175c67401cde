// The control channel's encoding: one JSON object per line, each line bounded.
//
// Why lines of JSON: both ends are JavaScript, the messages are few (one op per
// statement), and a line is easy to bound. Nothing is skipped or repaired: a
// line too long, not JSON or of the wrong shape (messages.ts) breaks the
// channel, and the reader reports "PID 1's channel was closed or corrupted"
// instead of using any of it. Errors cross as WireError (the fields of
// SysError) and become a SysError again on the other side.

import { SysError } from "../../native/error.ts";
import type { Op } from "../ops.ts";
import type { HostMessage, StageMessage, WireError } from "./messages.ts";

/** The longest message either side accepts, in bytes (a plan of a long script fits easily). */
export const MAX_MESSAGE = 16 << 20;

/** A message as one line of bytes; refuses one longer than the peer accepts. */
export function encode(msg: HostMessage | StageMessage): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(msg) + "\n");
  if (bytes.length > MAX_MESSAGE) {
    throw new SysError({
      message: `too large for PID 1's channel: ${(bytes.length / (1 << 20)).toFixed(1)} MiB, at most ${MAX_MESSAGE >> 20} MiB`,
      hint: "pass a value this long in a file",
      status: 125,
    });
  }
  return bytes;
}

/** The error a reader reports once its channel is broken. */
export function brokenChannel(reason: string): SysError {
  return new SysError({ message: `PID 1's channel was closed or corrupted: ${reason}`, status: 125 });
}

/**
 * Splits a byte stream into checked messages. Works on bytes, so that the
 * bound is on bytes and a character split between two reads needs no care.
 */
export class Decoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly valid: (v: unknown) => boolean) {}

  /** The messages completed by `chunk`, each with its size; throws (a reason) when the stream is corrupt. */
  push(chunk: Uint8Array): { msg: unknown; bytes: number }[] {
    const out: { msg: unknown; bytes: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.pendingBytes + end - start > MAX_MESSAGE) throw new Error(`a message longer than ${MAX_MESSAGE >> 20} MiB`);
      if (nl < 0) {
        if (end > start) {
          this.pending.push(chunk.slice(start));
          this.pendingBytes += end - start;
        }
        return out;
      }
      this.pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.pending).toString("utf8");
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      if (line.trim() === "") continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        throw new Error(`a message that is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
      }
      if (!this.valid(msg)) throw new Error(`a message of an unexpected shape: ${JSON.stringify(line.slice(0, 60))}`);
      out.push({ msg, bytes: line.length });
    }
  }

  /** Bytes of a message begun but not ended. */
  get partial(): number {
    return this.pendingBytes;
  }
}

/** An error, as it crosses the channel. */
export function errorToWire(e: unknown): WireError {
  if (e instanceof SysError) {
    return { errno: e.errno, code: e.code, syscall: e.syscall, args: e.args, message: e.message, hint: e.hint, status: e.status };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { errno: 0, code: "", syscall: "", args: [], message: msg };
}

/** An error that crossed the channel, as a SysError again; with `op`, placed at its statement. */
export function wireToError(w: WireError, op?: Op): SysError {
  const e = new SysError({ errno: w.errno, code: w.code, syscall: w.syscall, args: w.args, message: w.message, hint: w.hint, status: w.status });
  if (op) e.span = op.span;
  return e;
}
