// A tiny BTF writer for tests: add types as the raw words linux/btf.h
// describes, get the .BTF section bytes in either byte order.
export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strs: string[] = [''];
  private strLen = 1;
  private readonly strOff = new Map<string, number>([['', 0]]);
  private count = 0;

  str(s: string): number {
    let off = this.strOff.get(s);
    if (off === undefined) {
      off = this.strLen;
      this.strOff.set(s, off);
      this.strs.push(s);
      this.strLen += Buffer.byteLength(s) + 1;
    }
    return off;
  }

  /** Add one type record; returns its id. */
  add(kind: number, name: string, vlen: number, sizeOrType: number, extra: number[] = [], kflag = false): number {
    this.words.push(this.str(name), ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra);
    return ++this.count;
  }

  bytes(littleEndian = true): Uint8Array {
    const strBytes = Buffer.from(this.strs.map((s) => s + '\0').join(''));
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + strBytes.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, littleEndian);
    out[2] = 1;
    dv.setUint32(4, 24, littleEndian);
    dv.setUint32(8, 0, littleEndian);
    dv.setUint32(12, typeLen, littleEndian);
    dv.setUint32(16, typeLen, littleEndian);
    dv.setUint32(20, strBytes.length, littleEndian);
    this.words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, littleEndian));
    out.set(strBytes, 24 + typeLen);
    return out;
  }
}
