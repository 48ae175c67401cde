// native/bpf.ts — bpf(2), for the two commands ctr uses: loading a program and attaching
// it to a cgroup. Conventions (errors, tracing) are in trace.ts.
//
// union bpf_attr is passed by pointer with its size; fields the command does not use must
// be zero, so each command gets a struct of its own fields only.

import { BPF_PROG_ATTACH, BPF_PROG_LOAD } from "./constants.ts";
import { C, getKoffi } from "./libc.ts";
import { en, int, sysno, t0 } from "./trace.ts";

let loadAttr: unknown = null;

/** bpf(BPF_PROG_LOAD): load `insns` (8 bytes each) as a program of `progType`; its fd. */
export function bpfProgLoad(progType: number, insns: Uint8Array, license: string): number {
  const k = getKoffi();
  loadAttr ??= k.struct({
    prog_type: "uint32_t",
    insn_cnt: "uint32_t",
    insns: "const void *",
    license: "const char *",
    log_level: "uint32_t",
    log_size: "uint32_t",
    log_buf: "void *",
    kern_version: "uint32_t",
    prog_flags: "uint32_t",
  });
  const s = t0();
  const attr = { prog_type: progType, insn_cnt: insns.length / 8, insns, license, log_level: 0, log_size: 0, log_buf: null, kern_version: 0, prog_flags: 0 };
  const r = Number(C.syscall(sysno("bpf"), "int", BPF_PROG_LOAD, k.pointer(loadAttr as never), attr, "unsigned int", k.sizeof(loadAttr as never)));
  return int("bpf", r, en(r), [BPF_PROG_LOAD, progType, insns.length / 8, license], s);
}

/** bpf(BPF_PROG_ATTACH): attach the program `progFd` to the cgroup open as `targetFd`. */
export function bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags: number): void {
  const s = t0();
  const attr = new Uint32Array([targetFd, progFd, attachType, flags, 0]);
  const bytes = new Uint8Array(attr.buffer);
  const r = Number(C.syscall(sysno("bpf"), "int", BPF_PROG_ATTACH, "void *", bytes, "unsigned int", bytes.length));
  int("bpf", r, en(r), [BPF_PROG_ATTACH, targetFd, progFd, attachType, flags], s);
}
