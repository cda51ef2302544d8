// prog_array: the table bpf_tail_call jumps through. Slots hold programs,
// which are the runtime's objects, so they live in JavaScript; user space
// fills slots with set() or, as with the kernel's fds, update() with a u32
// program id that the table's program resolver turns into a program.
// The kernel's limit: a chain of at most MAX_TAIL_CALL_CNT (33) tail calls.

import { BpfMap, USER, type MapHost } from './base.js';
import { E2BIG, EINVAL, ENOENT } from './errno.js';
import { BPF_EXIST, BPF_NOEXIST, type ResolvedSpec } from './spec.js';

export const MAX_TAIL_CALL_CNT = 33;

/** Turns a user-visible program id into the runtime's program object. */
export type ProgramResolver = (id: number) => object | undefined;

export class ProgArrayMap extends BpfMap {
  private readonly progs: (object | undefined)[];
  private readonly ids: Uint32Array;
  resolver: ProgramResolver | undefined;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.progs = new Array<object | undefined>(spec.maxEntries);
    this.ids = new Uint32Array(spec.maxEntries);
  }

  /** The program in slot `index`, or undefined (what bpf_tail_call jumps to). */
  get(index: number): object | undefined {
    return index >>> 0 < this.maxEntries ? this.progs[index] : undefined;
  }

  /** Put `prog` in slot `index` (undefined empties it). `id` is what user-space lookups report. */
  set(index: number, prog: object | undefined, id = 0): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw this.error(E2BIG, 'update', `index ${index} out of range 0..${this.maxEntries - 1}`);
    this.checkWritable('update');
    this.progs[index] = prog;
    this.ids[index] = prog === undefined ? 0 : id;
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if (cpu !== USER) return -EINVAL; // programs cannot update a prog_array
    if (flags > BPF_EXIST) return -EINVAL;
    if (flags === BPF_NOEXIST) return -EINVAL; // all slots exist; the kernel rejects NOEXIST for fd arrays
    const dv = this.mem.dv;
    const i = dv.getUint32(key, true);
    if (i >= this.maxEntries) return -E2BIG;
    const id = dv.getUint32(value, true);
    const prog = this.resolver?.(id);
    if (prog === undefined) return -EINVAL; // the kernel: bad fd -> EBADF; no fd here, so EINVAL
    this.progs[i] = prog;
    this.ids[i] = id;
    return 0;
  }

  override deleteAt(key: number): number {
    const i = this.mem.dv.getUint32(key, true);
    if (i >= this.maxEntries) return -E2BIG;
    if (this.progs[i] === undefined) return -ENOENT;
    this.progs[i] = undefined;
    this.ids[i] = 0;
    return 0;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    if (key.length !== 4) throw this.error(EINVAL, 'lookup', `key is ${key.length} bytes, key_size is 4`);
    const i = new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
    if (i >= this.maxEntries || this.progs[i] === undefined) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.ids[i]!, true);
    return out;
  }

  override nextKeyAt(key: number, out: number): number {
    const dv = this.mem.dv;
    const i = key === 0 ? -1 : dv.getUint32(key, true);
    const next = i < 0 || i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return -ENOENT;
    dv.setUint32(out, next, true);
    return 0;
  }

  protected freeData(): void {
    this.progs.fill(undefined);
  }
}
