// One message for the log of an error: a SysError's own words, its hint after them.

import { SysError } from "../../../native/error.ts";

export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return e instanceof SysError && e.hint ? `${msg} (${e.hint})` : msg;
}
