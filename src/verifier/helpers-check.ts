// Helper calls checked against their prototypes (src/helpers/protos.ts):
// the program type's allow list, the GPL rule, each argument's kind (map
// pointer, key/value memory of the map's sizes, memory and size pairs,
// constants, ctx, ring buffer memory) and the register r0 receives.

import { RegState, RegType, RegFlag, markNotInit, markUnknown, markPointer, regTypeName, isNullConst } from './reg-state.js';
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumString } from './tnum.js';
import { regBoundsSync } from './bounds.js';
import { reject, type Env } from './env.js';
import { helperAllowed, helperProtoFor, CHANGES_PACKET_DATA, type ArgKind } from '../helpers/protos.js';
import { helperLogName } from './log.js';
import { checkMemRegion, MAX_VAR_OFF } from './memory-access.js';
import { stackHelperAccess } from './stack.js';
import { markPrecise } from './precision.js';
import { BPF_ATTACH_TYPE, BPF_FUNC, BPF_MAP_TYPE, BPF_PROG_TYPE, nameOf } from '../internal/uapi.gen.js';
import { STACK_SIZE } from '../isa/fields.js';
import { checkCurrentTaskBtf } from './kfunc-check.js';
import { btfTypeMatches, btfTypeName, kernelStruct, kernelStructType } from './kfuncs-btf.js';
import { BtfKind } from '../btf/types.js';
import { checkLockOverlap, checkResourceLeak, checkSleepInSections, mapHasSpinLock, processSpinLock } from './critical.js';

const WRITING_HELPERS = new Set(['map_delete_elem', 'map_update_elem', 'map_push_elem', 'map_pop_elem'].map((n) => BPF_FUNC[n]!));

function isSockMap(type: number | undefined): boolean {
  return type === BPF_MAP_TYPE['sockmap'] || type === BPF_MAP_TYPE['sockhash'];
}

/** Program types that may update or delete sockmap/sockhash entries (the kernel's may_update_sockmap, 6.x). */
const SOCKMAP_WRITERS = new Set(
  ['socket_filter', 'sched_cls', 'sched_act', 'xdp', 'sk_reuseport', 'flow_dissector', 'sk_lookup']
    .map((n) => BPF_PROG_TYPE[n]).filter((x): x is number => x !== undefined),
);

function maySockmapWrite(env: Env, id: number): boolean {
  const t = env.opts.progType;
  if (SOCKMAP_WRITERS.has(t)) return true;
  // sock_ops may delete (it updates through its own helper); tracing only as a map iterator.
  if (t === BPF_PROG_TYPE['sock_ops']) return id === BPF_FUNC['map_delete_elem'];
  if (t === BPF_PROG_TYPE['tracing']) return env.opts.expectedAttachType === BPF_ATTACH_TYPE['trace_iter'];
  return false;
}

const MEM_TYPES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';

interface CallMeta {
  /** Constant map key read from the stack (-1 when unknown). */
  constKey: number;
  mapIndex: number;
  allocSize: number;
  releaseRef: number;
  /** The reference a socket argument holds (a cast's result keeps it). */
  sockRef: number;
}

const isSockType = (t: RegType): boolean => t === RegType.PTR_TO_SOCK_COMMON || t === RegType.PTR_TO_SOCKET || t === RegType.PTR_TO_TCP_SOCK;

/** Memory at register regno, `size` bytes from its current position: readable (or writable). */
export function checkHelperMem(env: Env, regno: number, size: bigint, write: boolean, zeroOk: boolean): void {
  const r = env.state.cur.regs[regno]!;
  if (size === 0n && !zeroOk) reject('invalid zero-sized read');
  const n = Number(size);
  switch (r.type) {
    case RegType.PTR_TO_STACK: {
      const frame = env.state.frames[r.frameno]!;
      const what = write ? 'write to' : 'read from';
      if (!tnumIsConst(r.varOff) && (r.smax >= BigInt(MAX_VAR_OFF) || r.smin <= -BigInt(MAX_VAR_OFF))) {
        reject(`invalid unbounded variable-offset ${what} stack R${regno}`);
      }
      const minOff = r.off + Number(r.smin);
      const maxOff = r.off + Number(r.smax);
      if (minOff < -STACK_SIZE || maxOff + n > 0 || n < 0) {
        if (tnumIsConst(r.varOff)) reject(`invalid ${what} stack R${regno} off=${minOff} size=${n}`);
        reject(`invalid variable-offset ${what} stack R${regno} var_off=${tnumString(r.varOff)} off=${r.off} size=${n}`);
      }
      for (let o = minOff; o <= maxOff; o++) stackHelperAccess(env, frame, regno, o, n, write);
      return;
    }
    case RegType.PTR_TO_MAP_VALUE: {
      const m = env.maps[r.mapIndex];
      if (write && mapReadonly(m)) reject(`write into map forbidden, value_size=${m.valueSize} off=${r.off} size=${n}`);
      const vs = m?.valueSize ?? 0;
      checkMemRegion(env, regno, r, r.off, n, vs, zeroOk, (o) => `invalid access to map value, value_size=${vs} off=${o} size=${n}`);
      checkLockOverlap(env, r, r.off, n);
      return;
    }
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META: {
      if (env.ctx.packet === 'none' || (write && env.ctx.packet === 'read')) reject(`helper access to the packet is not allowed`);
      if (r.smin < 0n) reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
      if (r.off < 0 || r.off + n > r.range) {
        env.log.line(`invalid access to packet, off=${r.off} size=${n}, R${regno}(id=${r.id},off=${r.off},r=${r.range})`);
        reject(`R${regno} offset is outside of the packet`);
      }
      return;
    }
    case RegType.PTR_TO_MEM: {
      if (write && r.flags & RegFlag.RDONLY) reject(`R${regno} cannot write into ${regTypeName(r.type, r.flags)}`);
      checkMemRegion(env, regno, r, r.off, n, r.memSize, zeroOk, (o) => `invalid access to memory, mem_size=${r.memSize} off=${o} size=${n}`);
      return;
    }
    default:
      reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=${MEM_TYPES}`);
  }
}

function checkSizeArg(env: Env, regno: number, zeroOk: boolean): bigint {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.SCALAR) reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=scalar`);
  if (r.smin < 0n) reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (r.umin === 0n && !zeroOk) reject(`R${regno} invalid zero-sized read: u64=[${r.umin},${r.umax}]`);
  if (r.umax >= BigInt(MAX_VAR_OFF)) reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  markPrecise(env, regno);
  return r.umax;
}

function isMemArg(k: ArgKind): boolean {
  return k === 'mem' || k === 'mem_or_null' || k === 'uninit_mem';
}

/** Which helpers a map type works with, and which map types a helper needs. */
function checkMapCompat(env: Env, id: number, mapIndex: number): void {
  const m = env.maps[mapIndex];
  if (!m) return;
  const T = BPF_MAP_TYPE;
  const F = BPF_FUNC;
  const bad = (): never => reject(`cannot pass map_type ${m.type} into func ${helperLogName(id)}`);
  const ringbufHelpers = [F['ringbuf_output'], F['ringbuf_reserve'], F['ringbuf_query']];
  if (m.type === T['ringbuf'] && !ringbufHelpers.includes(id)) bad();
  if (ringbufHelpers.includes(id) && m.type !== T['ringbuf']) bad();
  if (m.type === T['prog_array'] && id !== F['tail_call']) bad();
  // may_update_sockmap: only some program types may change a sockmap or sockhash.
  if (isSockMap(m.type) && (id === F['map_update_elem'] || id === F['map_delete_elem']) && !maySockmapWrite(env, id)) bad();
  if (id === F['tail_call'] && m.type !== T['prog_array']) bad();
  if (m.type === T['perf_event_array'] && id !== F['perf_event_output'] && id !== F['perf_event_read'] && id !== F['perf_event_read_value']) bad();
  if (id === F['perf_event_output'] && m.type !== T['perf_event_array']) bad();
  if (id === F['get_stackid'] && m.type !== T['stack_trace']) bad();
  if ((id === F['perf_event_read'] || id === F['perf_event_read_value']) && m.type !== T['perf_event_array']) bad();
  // cgroup arrays: only the two "under cgroup" tests, and those only on cgroup arrays
  const underCgroup = id === F['skb_under_cgroup'] || id === F['current_task_under_cgroup'];
  if (underCgroup !== (m.type === T['cgroup_array'])) bad();
  // sk_select_reuseport: a reuseport array, sockmap or sockhash (and the array only with it)
  if (id === F['sk_select_reuseport'] && m.type !== T['reuseport_sockarray'] && !isSockMap(m.type)) bad();
  if (m.type === T['reuseport_sockarray'] && id !== F['sk_select_reuseport']) bad();
  // sk_storage: only through bpf_sk_storage_get / bpf_sk_storage_delete
  const skStorageHelpers = [F['sk_storage_get'], F['sk_storage_delete']];
  if (skStorageHelpers.includes(id) !== (m.type === T['sk_storage'])) bad();
  // cgroup storage: only through bpf_get_local_storage
  const cgroupStorage = [T['cgroup_storage'], T['percpu_cgroup_storage']];
  if ((id === F['get_local_storage']) !== cgroupStorage.includes(m.type)) bad();
  // redirect maps: bpf_redirect_map, and lookups of devmaps and xskmaps
  const redirectMaps = [T['devmap'], T['devmap_hash'], T['cpumap'], T['xskmap']];
  if (id === F['redirect_map'] && !redirectMaps.includes(m.type)) bad();
  if (redirectMaps.includes(m.type) && id !== F['redirect_map'] && (id !== F['map_lookup_elem'] || m.type === T['cpumap'])) bad();
  const percpu = [T['percpu_array'], T['percpu_hash'], T['lru_percpu_hash']];
  if (id === F['map_lookup_percpu_elem'] && !percpu.includes(m.type)) bad();
  const iterable = [T['hash'], T['lru_hash'], T['array'], ...percpu];
  if (id === F['for_each_map_elem'] && !iterable.includes(m.type)) bad();
}

/** Attach targets where bpf_d_path may run (the kernel's btf_allowlist_d_path). */
const D_PATH_TARGETS = new Set(['security_file_permission', 'security_inode_getattr', 'security_file_open', 'security_path_truncate',
  'vfs_truncate', 'vfs_fallocate', 'dentry_open', 'vfs_getattr', 'filp_close']);

const isTracing = (env: Env): boolean => env.opts.progType === BPF_PROG_TYPE['tracing'];
const attachIs = (env: Env, name: string): boolean => env.opts.expectedAttachType === BPF_ATTACH_TYPE[name];

/** bpf_prog_has_trampoline: fentry, fexit and fmod_ret tracing programs, LSM programs. */
function hasTrampoline(env: Env): boolean {
  if (env.opts.progType === BPF_PROG_TYPE['lsm']) return attachIs(env, 'lsm_mac');
  return isTracing(env) && (attachIs(env, 'trace_fentry') || attachIs(env, 'trace_fexit') || attachIs(env, 'modify_return'));
}

/**
 * The rules a helper's prototype carries beyond its type's allow list, in
 * the kernel's order: the proto's `allowed` callback (bpf_d_path: iterators,
 * sleepable LSM programs — the kernel's sleepable hooks — and a few VFS
 * functions; the IMA hashes: sleepable LSM programs), might_sleep, then
 * check_get_func_ip.
 */
function checkHelperContext(env: Env, id: number, mightSleep: boolean): void {
  // A sleepable LSM program is on one of the kernel's sleepable hooks (bpf_lsm_is_sleepable_hook).
  const sleepableLsm = env.opts.progType === BPF_PROG_TYPE['lsm'] && env.opts.sleepable === true;
  if (id === BPF_FUNC['d_path']) {
    const ok = (isTracing(env) && attachIs(env, 'trace_iter'))
      || (env.opts.progType === BPF_PROG_TYPE['lsm'] ? sleepableLsm : D_PATH_TARGETS.has(env.opts.tracingCtx?.func ?? ''));
    if (!ok) reject('helper call is not allowed in probe');
  }
  if ((id === BPF_FUNC['ima_inode_hash'] || id === BPF_FUNC['ima_file_hash']) && !sleepableLsm) reject('helper call is not allowed in probe');
  if (mightSleep && !env.opts.sleepable) reject('helper call might sleep in a non-sleepable prog');
  if (id === BPF_FUNC['get_func_ip']) {
    if (isTracing(env) && !hasTrampoline(env)) reject(`func ${helperLogName(id)} supported only for fentry/fexit/fmod_ret programs`);
    if (!isTracing(env) && env.opts.progType !== BPF_PROG_TYPE['kprobe']) reject(`func ${helperLogName(id)} not supported for program type ${env.opts.progType}`);
  }
}

export function checkHelperCall(env: Env, id: number): void {
  const extra = env.opts.extraHelpers?.get(id);
  const name = extra?.name ?? nameOf(BPF_FUNC, id);
  if (name === undefined || id < 0) reject(`invalid func ${helperLogName(id)}`);
  const allowed = extra !== undefined ? true : helperAllowed(env.opts.progType, id, env.opts.expectedAttachType);
  if (allowed === false) reject(`program of this type cannot use helper ${helperLogName(id)}`);
  // Its result is a kernel object pointer, like the kfuncs' (kfunc-check.ts).
  if (id === BPF_FUNC['get_current_task_btf'] && extra === undefined) return checkCurrentTaskBtf(env);
  const proto = extra ?? helperProtoFor(id, env.opts.progType);
  if (proto === undefined) {
    // The kernel allows it here (or the type has no list), but tsbpf has no prototype to check the call against.
    reject(allowed ? `helper ${helperLogName(id)} has no prototype in tsbpf's verifier (src/helpers/protos.ts)` : `program of this type cannot use helper ${helperLogName(id)}`);
  }
  if (proto.gplOnly && !env.gpl) reject('cannot call GPL-restricted function from non-GPL compatible program');
  checkHelperContext(env, id, proto.mightSleep === true);
  checkSleepInSections(env, proto.mightSleep === true, helperLogName(id));
  if (id === BPF_FUNC['tail_call'] && env.state.cur.subprog !== 0 && !env.opts.btf) reject('tail_call is not allowed in subprogs without BTF');
  const regs = env.state.cur.regs;
  const meta: CallMeta = { mapIndex: -1, allocSize: 0, releaseRef: 0, constKey: -1, sockRef: 0 };
  for (let i = 0; i < proto.args.length; i++) {
    const regno = i + 1;
    const kind = proto.args[i]!;
    const r = regs[regno]!;
    if (r.type === RegType.NOT_INIT) reject(`R${regno} !read_ok`);
    const expect = (want: string): never => reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=${want}`);
    switch (kind) {
      case 'anything':
        break;
      case 'const_map_ptr':
        if (r.type !== RegType.CONST_PTR_TO_MAP) expect('map_ptr');
        meta.mapIndex = r.mapIndex;
        break;
      case 'map_key':
      case 'map_value':
      case 'uninit_map_value': {
        if (meta.mapIndex < 0) reject(`invalid map_ptr to access map->${kind === 'map_key' ? 'key' : 'value'}`);
        if (kind === 'map_value' && isSockMap(env.maps[meta.mapIndex]?.type)) {
          // resolve_map_arg_type: a sockmap/sockhash value is a socket (ARG_PTR_TO_BTF_ID_SOCK_COMMON).
          // A kernel socket pointer (an iterator's sk) is one too when its struct starts with a sock_common.
          const btfSock = r.type === RegType.PTR_TO_BTF_ID && !(r.flags & RegFlag.UNTRUSTED) && btfTypeMatches(env, r.btfType, kernelStructType('sock_common'));
          const sock = r.type === RegType.PTR_TO_SOCK_COMMON || r.type === RegType.PTR_TO_SOCKET || r.type === RegType.PTR_TO_TCP_SOCK || btfSock;
          if (!sock || r.flags & RegFlag.MAYBE_NULL) expect('sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_');
          break;
        }
        if (!r.isPointer() || r.flags & RegFlag.MAYBE_NULL) expect(MEM_TYPES);
        const m = env.maps[meta.mapIndex]!;
        checkHelperMem(env, regno, BigInt(kind === 'map_key' ? m.keySize : m.valueSize), kind === 'uninit_map_value', false);
        if (kind === 'map_key') meta.constKey = constStackKey(env, r, m.keySize);
        break;
      }
      case 'mem':
      case 'mem_or_null':
      case 'uninit_mem': {
        const sizeKind = proto.args[i + 1];
        const zeroOk = sizeKind === 'const_size_or_zero';
        if (kind === 'mem_or_null' && isNullConst(r)) {
          const s = regs[regno + 1]!;
          if (!(s.type === RegType.SCALAR && tnumIsConst(s.varOff) && s.varOff.value === 0n)) {
            reject(`R${regno} type=scalar expected=${MEM_TYPES}`);
          }
          markPrecise(env, regno, regno + 1);
          break;
        }
        if (!r.isPointer() || r.flags & RegFlag.MAYBE_NULL) expect(MEM_TYPES);
        const size = checkSizeArg(env, regno + 1, zeroOk);
        checkHelperMem(env, regno, size, kind === 'uninit_mem', zeroOk);
        i++; // the size argument has been checked
        break;
      }
      case 'const_size':
      case 'const_size_or_zero':
        checkSizeArg(env, regno, kind === 'const_size_or_zero');
        break;
      case 'const_alloc_size_or_zero':
        if (r.type !== RegType.SCALAR) expect('scalar');
        if (!tnumIsConst(r.varOff)) reject(`R${regno} is not a known constant'`);
        checkSizeArg(env, regno, true);
        meta.allocSize = Number(r.varOff.value);
        markPrecise(env, regno);
        break;
      case 'ctx':
        if (r.type !== RegType.PTR_TO_CTX) expect('ctx');
        if (r.off !== 0 || !tnumIsConst(r.varOff) || r.varOff.value !== 0n) reject(r.off < 0 ? `negative offset ctx ptr R${regno} off=${r.off} disallowed` : `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`);
        break;
      case 'func':
        if (r.type !== RegType.PTR_TO_FUNC) expect('func');
        break;
      case 'stack_or_null':
        if (!isNullConst(r) && r.type !== RegType.PTR_TO_STACK) expect('fp');
        break;
      case 'const_str': {
        // The kernel also reads the string out of the frozen map; here the value must be a read-only map's.
        if (r.type !== RegType.PTR_TO_MAP_VALUE || r.flags & RegFlag.MAYBE_NULL) expect('map_value');
        const m = env.maps[r.mapIndex];
        if (!mapReadonly(m)) reject(`R${regno} does not point to a readonly map'`);
        if (!tnumIsConst(r.varOff)) reject(`R${regno} is not a constant address'`);
        const off = r.off + Number(BigInt.asIntN(64, r.varOff.value));
        if (off < 0 || off >= m!.valueSize) reject(`R${regno} string is not zero-terminated`);
        break;
      }
      case 'sock_release': {
        // ARG_PTR_TO_BTF_ID_SOCK_COMMON: a BTF socket (bpf_skc_to_tcp_sock's result) too
        const sock = isSockType(r.type) || r.type === RegType.PTR_TO_BTF_ID;
        if (!sock || r.flags & RegFlag.MAYBE_NULL) expect('sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_');
        if (!r.refObjId) reject(`R${regno} must be referenced when passed to release function`);
        meta.releaseRef = r.refObjId;
        break;
      }
      case 'sock_common':
        if (!isSockType(r.type) || r.flags & RegFlag.MAYBE_NULL) expect('sock_common, sock, tcp_sock, xdp_sock');
        meta.sockRef = r.refObjId;
        break;
      case 'btf_sock_common':
        if (!(isSockType(r.type) || r.type === RegType.PTR_TO_BTF_ID) || r.flags & RegFlag.MAYBE_NULL) expect('sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_');
        meta.sockRef = r.refObjId;
        break;
      case 'map_value_or_null': {
        if (isNullConst(r)) break;
        if (meta.mapIndex < 0) reject('invalid map_ptr to access map->value');
        if (!r.isPointer() || r.flags & RegFlag.MAYBE_NULL) expect(MEM_TYPES);
        checkHelperMem(env, regno, BigInt(env.maps[meta.mapIndex]!.valueSize), false, false);
        break;
      }
      case 'ctx_or_null':
        if (isNullConst(r)) break;
        if (r.type !== RegType.PTR_TO_CTX) expect('ctx');
        if (r.off !== 0 || !tnumIsConst(r.varOff) || r.varOff.value !== 0n) reject(r.off < 0 ? `negative offset ctx ptr R${regno} off=${r.off} disallowed` : `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`);
        break;
      case 'out_u32':
      case 'out_u64': {
        // ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED: the helper writes it, so it may be uninitialised
        const n = kind === 'out_u32' ? 4 : 8;
        if (!r.isPointer() || r.flags & RegFlag.MAYBE_NULL) expect(MEM_TYPES);
        const t = tnumAdd(r.varOff, tnumConst(BigInt(r.off)));
        if (!tnumIsAligned(t, n)) {
          const v = tnumIsConst(r.varOff) ? BigInt.asIntN(64, r.varOff.value).toString() : tnumString(r.varOff);
          reject(`misaligned ${r.type === RegType.PTR_TO_STACK ? 'stack ' : r.type === RegType.PTR_TO_MAP_VALUE ? 'value ' : ''}access off ${v}+${r.off}+0 size ${n}`);
        }
        checkHelperMem(env, regno, BigInt(n), true, false);
        break;
      }
      case 'btf_id':
        checkBtfIdArg(env, regno, proto.btfStruct ?? '');
        break;
      case 'ringbuf_mem':
        if (r.type !== RegType.PTR_TO_MEM || !(r.flags & RegFlag.RINGBUF) || r.flags & RegFlag.MAYBE_NULL) expect('ringbuf_mem');
        if (r.off !== 0 || !tnumIsConst(r.varOff) || r.varOff.value !== 0n) {
          reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
        }
        if (!r.refObjId) reject(`R${regno} must be referenced when passed to release function`);
        meta.releaseRef = r.refObjId;
        break;
      case 'spin_lock':
        processSpinLock(env, regno, id === BPF_FUNC['spin_lock']);
        break;
    }
  }
  if (meta.mapIndex >= 0) {
    // record_func_map: helpers that change a map refuse maps read-only to programs.
    if (mapReadonly(env.maps[meta.mapIndex]) && WRITING_HELPERS.has(id)) reject('write into map forbidden');
    checkMapCompat(env, id, meta.mapIndex);
  }
  if (id === BPF_FUNC['get_local_storage'] && !isNullConst(regs[2]!)) reject("get_local_storage() doesn't support non-zero flags");
  if (meta.releaseRef) releaseReference(env, meta.releaseRef);
  // A taken tail call never returns: references held now could never be released.
  if (id === BPF_FUNC['tail_call']) checkResourceLeak(env, 'tail_call');
  // A tail call that returns changed nothing, but a subprogram that tail-calls may
  // have run a program that moved the packet: the caller's pointers are stale.
  if (CHANGES_PACKET_DATA.has(id) || (id === BPF_FUNC['tail_call'] && env.state.frames.length > 1)) clearPacketPointers(env);
  // Caller-saved registers are clobbered.
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  const r0 = regs[0]!;
  switch (proto.ret) {
    case 'integer':
      markUnknown(r0);
      break;
    case 'cpu_id':
      markUnknown(r0);
      if (env.opts.possibleCpus !== undefined && env.opts.possibleCpus > 0) {
        // [0, possibleCpus - 1], as the kernel bounds it with nr_cpu_ids.
        r0.umax = BigInt(env.opts.possibleCpus - 1);
        regBoundsSync(r0);
      }
      break;
    case 'void':
      markNotInit(r0);
      break;
    case 'map_value_or_null': {
      const mt = env.maps[meta.mapIndex]?.type;
      if (mt === BPF_MAP_TYPE['sockmap'] || mt === BPF_MAP_TYPE['sockhash']) {
        // Lookups in socket maps return a referenced socket that must be released.
        markPointer(r0, RegType.PTR_TO_SOCKET, RegFlag.MAYBE_NULL);
        ++env.nextId;
        const ref = ++env.nextId;
        r0.id = ref;
        r0.refObjId = ref;
        env.state.refs.push({ id: ref, insn: env.insnIdx });
        break;
      }
      // An array lookup with a constant key below max_entries cannot fail (6.18 elides the null check).
      const m = env.maps[meta.mapIndex];
      const sure = id === BPF_FUNC['map_lookup_elem'] && (mt === BPF_MAP_TYPE['array'] || mt === BPF_MAP_TYPE['percpu_array']) && meta.constKey >= 0 && m !== undefined && meta.constKey < m.maxEntries;
      markPointer(r0, RegType.PTR_TO_MAP_VALUE, sure ? 0 : RegFlag.MAYBE_NULL);
      r0.mapIndex = meta.mapIndex;
      // A value holding a lock gets an id even when it cannot be NULL: unlock must name the pointer lock took.
      if (!sure || mapHasSpinLock(m)) r0.id = ++env.nextId;
      break;
    }
    case 'socket_or_null_acquire':
    case 'sock_common_or_null_acquire': {
      // acquire_reference: one id for the null check, the reference's own for both (as for ring buffer memory).
      markPointer(r0, proto.ret === 'socket_or_null_acquire' ? RegType.PTR_TO_SOCKET : RegType.PTR_TO_SOCK_COMMON, RegFlag.MAYBE_NULL);
      ++env.nextId;
      const ref = ++env.nextId;
      r0.id = ref;
      r0.refObjId = ref;
      env.state.refs.push({ id: ref, insn: env.insnIdx });
      break;
    }
    case 'map_value':
      markPointer(r0, RegType.PTR_TO_MAP_VALUE, 0);
      r0.mapIndex = meta.mapIndex;
      break;
    case 'socket_or_null':
    case 'tcp_sock_or_null':
    case 'btf_sock_or_null':
    case 'socket_or_null_noref':
    case 'btf_sock_or_null_noref': {
      const ret = proto.ret;
      const t = ret === 'tcp_sock_or_null' ? RegType.PTR_TO_TCP_SOCK : ret === 'socket_or_null' || ret === 'socket_or_null_noref' ? RegType.PTR_TO_SOCKET : RegType.PTR_TO_BTF_ID;
      markPointer(r0, t, RegFlag.MAYBE_NULL);
      r0.id = ++env.nextId;
      // is_ptr_cast_function: the same object as another type, holding the argument's reference
      r0.refObjId = ret.endsWith('_noref') ? 0 : meta.sockRef;
      break;
    }
    case 'ringbuf_mem_or_null': {
      markPointer(r0, RegType.PTR_TO_MEM, RegFlag.MAYBE_NULL | RegFlag.RINGBUF);
      r0.memSize = meta.allocSize;
      // Like the kernel: one id for the null check, then the reference's own id for both.
      ++env.nextId;
      const ref = ++env.nextId;
      r0.id = ref;
      r0.refObjId = ref;
      env.state.refs.push({ id: ref, insn: env.insnIdx });
      break;
    }
  }
}

/**
 * ARG_PTR_TO_BTF_ID: a kernel object pointer, plain, trusted or RCU (the
 * kernel's btf_ptr_types; untrusted ones, from bpf_rdonly_cast or probe
 * reads, are refused), not NULL, at offset 0 of the wanted struct or of a
 * struct that starts with it.
 */
function checkBtfIdArg(env: Env, regno: number, struct: string): void {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_BTF_ID || r.flags & (RegFlag.MAYBE_NULL | RegFlag.UNTRUSTED)) {
    reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=ptr_, trusted_ptr_, rcu_ptr_`);
  }
  if (!tnumIsConst(r.varOff) || r.varOff.value !== 0n) reject(`variable ptr_ access var_off=${tnumString(r.varOff)} disallowed`);
  const match = r.off === 0 ? btfTypeMatches(env, r.btfType, kernelStructType(struct)) : nestedStructAt(env, btfTypeName(r.btfType), r.off, struct);
  if (!match) reject(`R${regno} is of type ${btfTypeName(r.btfType)} but ${struct} is expected`);
}

/**
 * Does kernel struct `outer` hold a `want` at byte `off` (a member, or a
 * member's member: &file->f_path is a struct path)? The kernel's
 * btf_struct_ids_match walking to the register's offset.
 */
function nestedStructAt(env: Env, outer: string, off: number, want: string): boolean {
  const kbtf = env.opts.kernelBtf;
  let t = kbtf ? kernelStruct(kbtf, outer) : undefined;
  for (let depth = 0; kbtf && t && depth < 8; depth++) {
    const m = t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION
      ? t.members.find((x) => x.bitSize === 0 && x.bitOffset % 8 === 0 && x.bitOffset / 8 <= off && off < x.bitOffset / 8 + kbtf.sizeOf(x.type))
      : undefined;
    if (!m) return false;
    const mt = kbtf.skipModifiers(m.type);
    off -= m.bitOffset / 8;
    if (off === 0 && (mt.kind === BtfKind.STRUCT) && mt.name === want) return true;
    t = mt;
  }
  return false;
}

/**
 * The key a stack pointer points at, when the stack holds a known constant
 * there: all-zero bytes, or a spilled constant scalar covering the key.
 * -1 otherwise.
 */
function constStackKey(env: Env, r: RegState, keySize: number): number {
  if (r.type !== RegType.PTR_TO_STACK || !tnumIsConst(r.varOff) || keySize > 8 || keySize <= 0) return -1;
  const f = env.state.frames[r.frameno]!;
  const off = r.off + Number(BigInt.asIntN(64, r.varOff.value));
  const p = STACK_SIZE + off;
  if (p < 0 || p + keySize > STACK_SIZE) return -1;
  let zeros = true;
  for (let i = 0; i < keySize; i++) if (f.bytes[p + i] !== 2 /* StackByte.ZERO */) zeros = false;
  if (zeros) return 0;
  if ((off & 7) !== 0) return -1;
  const sp = f.spilled[p >> 3];
  if (!sp || sp.type !== RegType.SCALAR || !tnumIsConst(sp.varOff)) return -1;
  for (let i = 0; i < keySize; i++) if (f.bytes[p + i] !== 3 /* StackByte.SPILL */) return -1;
  const v = sp.varOff.value & ((1n << BigInt(keySize * 8)) - 1n);
  return v > 0x7fffffffn ? -1 : Number(v);
}

/** BPF_F_RDONLY_PROG maps (and frozen .rodata) cannot be written by programs. */
export function mapReadonly(m: { readonly?: boolean; flags?: number } | undefined): boolean {
  return !!m && (!!m.readonly || ((m.flags ?? 0) & (1 << 7)) !== 0);
}

/** BPF_F_WRONLY_PROG maps cannot be read by programs. */
export function mapWriteonly(m: { flags?: number } | undefined): boolean {
  return !!m && ((m.flags ?? 0) & (1 << 8)) !== 0;
}

/** After a helper that may move packet data, every packet pointer is an unknown scalar. */
export function clearPacketPointers(env: Env): void {
  env.state.updateRegs((r) => r.type === RegType.PTR_TO_PACKET || r.type === RegType.PTR_TO_PACKET_META || r.type === RegType.PTR_TO_PACKET_END, markUnknown);
}

/** Drop a reference and invalidate every register that holds it. */
export function releaseReference(env: Env, refId: number): void {
  const k = env.state.refs.findIndex((r) => r.id === refId);
  if (k < 0) reject(`release reference ${refId} not found`);
  env.state.refs.splice(k, 1);
  env.state.updateRegs((r) => r.refObjId === refId, markUnknown);
}

export type { RegState };
