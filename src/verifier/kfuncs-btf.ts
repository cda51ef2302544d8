// Pointers to kernel objects (PTR_TO_BTF_ID): which BTF type a register
// points to, and loads through it (the kernel's btf_struct_access). A
// register keeps a small number (RegState.btfType) naming the type: kernel
// structs by name (their layout comes from the kernel's BTF,
// VerifyOptions.kernelBtf, e.g. /sys/kernel/btf/vmlinux), or a type of the
// program's own BTF (bpf_rdonly_cast). Without the BTF that describes a
// type, loads through it are refused with a clear reason, never guessed.

import { MAX_RESOLVE_DEPTH, type Btf } from '../btf/btf.js';
import { TsbpfError } from '../internal/errors.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import { RegFlag, RegType, markPointer, markUnknown, type RegState } from './reg-state.js';
import { tnumIsConst, tnumString } from './tnum.js';
import { reject, type Env } from './env.js';
import { btfTypeRef, kernelStructType, localType } from './kfuncs-types.js';
import { inRcuSection } from './critical.js';

export { btfTypeName, kernelStructType, localType } from './kfuncs-types.js';

/** Can a pointer to `have` be passed where the kfunc wants `want`? A struct whose first member is `want` can (btf_struct_ids_match). */
export function btfTypeMatches(env: Env, have: number, want: number): boolean {
  if (have === want) return true;
  const h = btfTypeRef(have);
  const w = btfTypeRef(want);
  if (!h || !w || h.btf !== undefined || w.btf !== undefined) return false;
  // struct bpf_cpumask starts with its cpumask_t: the kernel walks first members; so do we, with or without kernel BTF.
  if (h.name === 'bpf_cpumask' && w.name === 'cpumask') return true;
  const kbtf = env.opts.kernelBtf;
  if (!kbtf) return false;
  return btfLookup(() => {
    let t = kernelStruct(kbtf, h.name);
    for (let depth = 0; t && depth < 8; depth++) {
      const first = t.kind === BtfKind.STRUCT ? t.members[0] : undefined;
      if (!first || first.bitOffset !== 0) return false;
      const ft = kbtf.skipModifiers(first.type);
      if (ft.kind !== BtfKind.STRUCT) return false;
      if (ft.name === w.name) return true;
      t = ft;
    }
    return false;
  });
}

export function kernelStruct(btf: Btf, name: string): BtfType | undefined {
  for (const id of btf.idsByName(name)) {
    const t = btf.type(id);
    if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) return t;
  }
  return undefined;
}

/**
 * A load or store through a PTR_TO_BTF_ID register: constant offset inside
 * the struct; a load gives a scalar, or an untrusted pointer for a member
 * that points to a struct. Stores are refused, as for tracing programs.
 */
export function checkBtfAccess(env: Env, regno: number, r: RegState, insnOff: number, size: number, write: boolean, dst: RegState | undefined): void {
  const ref = btfTypeRef(r.btfType);
  const what = `ptr_${ref?.name ?? ''}`;
  if (!env.privileged) reject(`'struct ${ref?.name ?? ''}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (!env.gpl && ref?.btf === undefined) reject(`Cannot access kernel 'struct ${ref?.name ?? ''}' from non-GPL compatible program`);
  if (write) reject(`only read is supported`);
  if (!tnumIsConst(r.varOff)) reject(`R${regno} is ${what} invalid variable offset: off=${r.off}, var_off=${tnumString(r.varOff)}`);
  const off = r.off + insnOff + Number(BigInt.asIntN(64, r.varOff.value));
  if (off < 0) reject(`R${regno} is ${what} invalid negative access: off=${off}`);
  if (!ref || ref.name === '') reject(`R${regno} invalid mem access '${what}'`);
  const btf = ref.btf ?? env.opts.kernelBtf;
  if (!btf) {
    reject(`reading struct ${ref.name} needs the kernel's BTF (VerifyOptions.kernelBtf, e.g. /sys/kernel/btf/vmlinux), which was not given`);
  }
  const t = btfLookup(() => (ref.btf ? btf.skipModifiers(ref.id) : kernelStruct(btf, ref.name)));
  if (!t || (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION)) reject(`R${regno} struct ${ref.name} is not in the kernel's BTF`);
  if (off + size > t.size) reject(`access beyond struct ${ref.name} at off ${off} size ${size}`);
  // Read through a kernel (not an untrusted) pointer: within one member, as btf_struct_walk allows.
  if (!(r.flags & RegFlag.UNTRUSTED)) {
    const bad = btfLookup(() => memberAccessError(btf, t, off, size, 0));
    if (bad !== undefined) reject(bad);
  }
  if (!dst) return;
  const found = btfLookup(() => pointerMember(btf, t, off, size, 0));
  if (found !== undefined) {
    const member = found.target;
    const flags = ref.btf ? RegFlag.UNTRUSTED : btfLookup(() => walkedPointerFlags(env, r, btf, ref.name, found.field));
    markPointer(dst, RegType.PTR_TO_BTF_ID, flags);
    dst.btfType = ref.btf ? localType(btf, member.id, member.name) : kernelStructType(member.name);
    if (flags & RegFlag.MAYBE_NULL) dst.id = ++env.nextId;
    return;
  }
  markUnknown(dst);
}

/** A BTF lookup that may meet a malformed type (a cycle, a bad id): refused with the BTF's reason instead of thrown. */
function btfLookup<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TsbpfError) reject(`bad BTF: ${e.message}`);
    throw e;
  }
}

/**
 * What a pointer read from a kernel object is (the kernel's
 * check_ptr_to_btf_access): read through an untrusted pointer, untrusted;
 * a member the kernel lists as always valid (its BTF has struct
 * <type>__safe_trusted / __safe_trusted_or_null with that member) read
 * through a trusted or RCU pointer, trusted (or trusted and maybe NULL);
 * inside an RCU read section (critical.ts inRcuSection: a non-sleepable
 * program always is), a member listed in <type>__safe_rcu is an RCU
 * pointer (rcu_ptr_, valid until bpf_rcu_read_unlock), one in
 * __safe_rcu_or_null an RCU pointer that may be NULL, any other a plain
 * pointer; outside one, untrusted. (The kernel's BTF here has no __rcu
 * type tags, so only the listed members are RCU pointers.)
 */
function walkedPointerFlags(env: Env, r: RegState, kbtf: Btf, struct: string, field: string): number {
  if (r.flags & RegFlag.UNTRUSTED) return RegFlag.UNTRUSTED;
  const trustedBase = (r.flags & (RegFlag.TRUSTED | RegFlag.RCU)) !== 0 || r.refObjId !== 0;
  const listed = (suffix: string): boolean => {
    const safe = kernelStruct(kbtf, `${struct}${suffix}`);
    return safe?.kind === BtfKind.STRUCT && safe.members.some((m) => m.name === field);
  };
  if (!trustedBase) return env.opts.sleepable ? RegFlag.UNTRUSTED : 0;
  if (listed('__safe_trusted')) return RegFlag.TRUSTED;
  if (listed('__safe_trusted_or_null')) return RegFlag.TRUSTED | RegFlag.MAYBE_NULL;
  if (!inRcuSection(env) || r.flags & RegFlag.MAYBE_NULL) return RegFlag.UNTRUSTED;
  if (listed('__safe_rcu')) return RegFlag.RCU;
  if (listed('__safe_rcu_or_null')) return RegFlag.RCU | RegFlag.MAYBE_NULL;
  return 0;
}

/**
 * Why the kernel's btf_struct_walk refuses a read of [off, off+size) in
 * struct t, or undefined: the first member that covers `off` decides (for a
 * union too); a scalar member (or array of them) must hold the whole read,
 * a pointer member must be read whole; structs, unions and arrays of
 * structs are walked into. Bitfields and holes are left alone (the kernel
 * refuses some partial bitfield reads that tsbpf accepts).
 */
function memberAccessError(btf: Btf, t: BtfType, off: number, size: number, depth: number): string | undefined {
  if (depth > MAX_RESOLVE_DEPTH || (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION)) return undefined;
  for (const m of t.members) {
    if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) continue;
    const moff = m.bitOffset / 8;
    if (off + size <= moff || off < moff) break;
    const mend = moff + btf.sizeOf(m.type);
    if (off >= mend) continue;
    let mt = btf.skipModifiers(m.type);
    let start = moff;
    // An array is its elements one after another; an int array is scratch space up to its end.
    while (mt.kind === BtfKind.ARRAY) {
      const elem = btf.skipModifiers(mt.type);
      const esize = btf.sizeOf(elem.id);
      if (esize <= 0) return undefined;
      start += Math.floor((off - start) / esize) * esize;
      mt = elem;
    }
    if (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION) {
      return memberAccessError(btf, mt, off - start, size, depth + 1);
    }
    if (mt.kind === BtfKind.PTR) {
      if (size !== 8 || off !== start) return `cannot access ptr member ${m.name} with moff ${start} in struct ${t.name} with off ${off} size ${size}`;
      return undefined;
    }
    if (off + size > mend) return `access beyond the end of member ${m.name} (mend:${mend}) in struct ${t.name} with off ${off} size ${size}`;
    return undefined;
  }
  return undefined;
}

/** The struct a member at exactly [off, off+8) points to, if it is a pointer to a named struct, and the member's name. */
function pointerMember(btf: Btf, t: BtfType, off: number, size: number, depth: number): { target: BtfType; field: string } | undefined {
  if (size !== 8 || depth > MAX_RESOLVE_DEPTH || (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION)) return undefined;
  for (const m of t.members) {
    if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) continue;
    const start = m.bitOffset / 8;
    const mt = btf.skipModifiers(m.type);
    if (start === off && mt.kind === BtfKind.PTR) {
      const target = btf.skipModifiers(mt.type);
      return (target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION) && target.name !== '' ? { target, field: m.name } : undefined;
    }
    // A nested struct or union that covers the offset: look inside it.
    if ((mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION) && off >= start && off + size <= start + mt.size) {
      return pointerMember(btf, mt, off - start, size, depth + 1);
    }
  }
  return undefined;
}
