// The device policy on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, assembled here.
//
// The kernel runs the program attached to a task's cgroup (and, with BPF_F_ALLOW_MULTI,
// those of its ancestors: all must allow) on every open(2) and mknod(2) of a device node,
// with a `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` in r1:
// access_type is (access << 16) | type, type BPF_DEVCG_DEV_BLOCK (1) or _CHAR (2), access
// a set of BPF_DEVCG_ACC_MKNOD (1), _READ (2), _WRITE (4). Returning 1 allows, 0 denies
// (EPERM). The program uses no helper, so any license will do.
//
// Shape (the one runc generates): load type, access, major and minor into r2..r5; then
// one block per allowed entry, each test jumping to the next block when it fails, the
// block returning 1 when all pass; at the end return 0.

import type { DeviceRule } from "./policy.ts";

const TYPE = { b: 1, c: 2 } as const;
const ACCESS = { m: 1, r: 2, w: 4 } as const;

// Opcodes (include/uapi/linux/bpf.h, bpf_common.h).
const LDX_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const MOV32_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT = 0x95; // BPF_JMP | BPF_EXIT

type Insn = [code: number, dst: number, src: number, off: number, imm: number];

/** The program's instructions for the allowed entries (everything else is denied). */
export function deviceProgram(allowed: readonly DeviceRule[]): Insn[] {
  const out: Insn[] = [
    [LDX_W, 2, 1, 0, 0],
    [AND32_K, 2, 0, 0, 0xffff], // r2 = type
    [LDX_W, 3, 1, 0, 0],
    [RSH32_K, 3, 0, 0, 16], // r3 = access
    [LDX_W, 4, 1, 4, 0], // r4 = major
    [LDX_W, 5, 1, 8, 0], // r5 = minor
  ];
  for (const r of allowed) {
    // Each test is a jump whose offset is filled in once the block's length is known.
    const block: Insn[] = [];
    if (r.type !== "a") block.push([JNE_K, 2, 0, -1, TYPE[r.type]]);
    const acc = [...r.access].reduce((bits, c) => bits | ACCESS[c as keyof typeof ACCESS], 0);
    if (acc !== 7) block.push([MOV32_X, 1, 3, 0, 0], [AND32_K, 1, 0, 0, acc], [JNE_X, 1, 3, -1, 0]); // any access outside acc: next
    if (r.major !== null) block.push([JNE_K, 4, 0, -1, r.major]);
    if (r.minor !== null) block.push([JNE_K, 5, 0, -1, r.minor]);
    block.push([MOV32_K, 0, 0, 0, 1], [EXIT, 0, 0, 0, 0]);
    block.forEach((insn, i) => {
      if (insn[3] === -1) insn[3] = block.length - 1 - i;
      out.push(insn);
    });
  }
  out.push([MOV32_K, 0, 0, 0, 0], [EXIT, 0, 0, 0, 0]);
  return out;
}

/** The instructions as the kernel takes them: 8 bytes each, little-endian (x86_64, aarch64). */
export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * 8);
  const v = new DataView(bytes.buffer);
  insns.forEach(([code, dst, src, off, imm], i) => {
    v.setUint8(i * 8, code);
    v.setUint8(i * 8 + 1, (src << 4) | dst);
    v.setInt16(i * 8 + 2, off, true);
    v.setInt32(i * 8 + 4, imm, true);
  });
  return bytes;
}
