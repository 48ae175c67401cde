/** Synthetic ELF files for the tests of runtime/features/rootfs/elf.ts and runtime/features/rootfs/build.ts. */

/** Build a minimal ELF file: one PT_LOAD covering the file, optional PT_INTERP, a PT_DYNAMIC. */
export function makeElf(o: {
  bits: 32 | 64;
  le?: boolean;
  machine: number;
  type?: number;
  interp?: string;
  needed?: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  dynamic?: boolean;
}): Buffer {
  const is64 = o.bits === 64;
  const le = o.le ?? true;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const base = 0x400000;

  let strtab = "\0";
  const addStr = (s: string) => {
    const off = strtab.length;
    strtab += s + "\0";
    return off;
  };
  const dyn: Array<[number, number]> = [];
  for (const n of o.needed ?? []) dyn.push([1, addStr(n)]);
  if (o.soname) dyn.push([14, addStr(o.soname)]);
  if (o.rpath) dyn.push([15, addStr(o.rpath)]);
  if (o.runpath) dyn.push([29, addStr(o.runpath)]);
  const withDyn = o.dynamic ?? true;
  const nph = 1 + (o.interp ? 1 : 0) + (withDyn ? 1 : 0);

  const interpOff = ehsize + nph * phentsize;
  const interpBytes = o.interp ? Buffer.from(o.interp + "\0") : Buffer.alloc(0);
  const strOff = interpOff + interpBytes.length;
  const strBytes = Buffer.from(strtab, "latin1");
  const dynOff = Math.ceil((strOff + strBytes.length) / 8) * 8;
  dyn.push([5, base + strOff], [10, strBytes.length], [0, 0]);
  const dynEnt = is64 ? 16 : 8;
  const size = dynOff + (withDyn ? dyn.length * dynEnt : 0);
  const b = Buffer.alloc(size);

  const u16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const word = (v: number, at: number) =>
    is64 ? (le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : u32(v, at);

  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  u16(o.type ?? 3, 16);
  u16(o.machine, 18);
  u32(1, 20);
  word(ehsize, is64 ? 32 : 28); // e_phoff
  u16(ehsize, is64 ? 52 : 40);
  u16(phentsize, is64 ? 54 : 42);
  u16(nph, is64 ? 56 : 44);

  let ph = ehsize;
  const phdr = (type: number, off: number, filesz: number) => {
    u32(type, ph);
    if (is64) {
      word(off, ph + 8);
      word(base + off, ph + 16);
      word(base + off, ph + 24);
      word(filesz, ph + 32);
      word(filesz, ph + 40);
    } else {
      u32(off, ph + 4);
      u32(base + off, ph + 8);
      u32(base + off, ph + 12);
      u32(filesz, ph + 16);
      u32(filesz, ph + 20);
    }
    ph += phentsize;
  };
  phdr(1, 0, size); // PT_LOAD: the whole file at `base`
  if (o.interp) phdr(3, interpOff, interpBytes.length);
  if (withDyn) phdr(2, dynOff, dyn.length * dynEnt);

  interpBytes.copy(b, interpOff);
  strBytes.copy(b, strOff);
  if (withDyn) {
    dyn.forEach(([tag, val], i) => {
      word(tag, dynOff + i * dynEnt);
      word(val, dynOff + i * dynEnt + (is64 ? 8 : 4));
    });
  }
  return b;
}
