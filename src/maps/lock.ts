// Locks on i32 words of the runtime memory, shared by every thread that
// shares the memory (worker_threads with the same WebAssembly.Memory).
//
// - The map writer lock (descriptor field LOCK) serialises inserts, deletes
//   and list changes of one map, as the kernel's bucket and LRU locks do;
//   lookups never take it (see hash.ts for what a lock-free reader sees).
//   It is a futex-style mutex: 0 free, 1 held, 2 held with waiters. The fast
//   path is one compareExchange to take it and one exchange to give it back;
//   a contended taker spins briefly, then sleeps in Atomics.wait, and the
//   releaser notifies only when someone may be asleep.
// - A value's `struct bpf_spin_lock` (BPF_F_LOCK): the word the spin_lock
//   helper takes (0 free, 1 held), taken the same way here so user space,
//   programs and the helper exclude each other.
//
// Critical sections are short and never call out, so a lock that stays held
// for seconds means its holder died (a worker terminated mid-update) or the
// calling thread already holds it: that is an error, never a hang.

import { EBUSY, MapError } from './errno.js';

const SPINS = 100;
/** Give up after this long waiting for one lock. */
const WAIT_LIMIT_MS = 5000;

/** Atomics.wait is not allowed everywhere (a browser's main thread); probe once. */
let canWait: boolean | undefined;

function sleepWhile(i32: Int32Array, idx: number, value: number): void {
  if (canWait === undefined) {
    try {
      Atomics.wait(i32, idx, value, 0); // returns at once; throws where waiting is forbidden
      canWait = true;
    } catch {
      canWait = false;
    }
  }
  if (canWait) Atomics.wait(i32, idx, value, 1);
}

/** Take the writer lock at word `idx` of `i32` (the memory as an Int32Array). */
export function lockWord(i32: Int32Array, idx: number, what: string): void {
  if (Atomics.compareExchange(i32, idx, 0, 1) === 0) return;
  lockSlow(i32, idx, what);
}

function lockSlow(i32: Int32Array, idx: number, what: string): void {
  // a memory no other thread can see: the holder is this thread, which waits forever
  if (!(i32.buffer instanceof SharedArrayBuffer)) throw deadlock(what, 'is already held by this thread');
  for (let n = 0; n < SPINS; n++) if (Atomics.compareExchange(i32, idx, 0, 1) === 0) return;
  const t0 = Date.now();
  // mark "held with waiters" so the holder notifies; take it as 2 (someone else may wait too)
  let c = Atomics.exchange(i32, idx, 2);
  while (c !== 0) {
    sleepWhile(i32, idx, 2);
    c = Atomics.exchange(i32, idx, 2);
    if (c !== 0 && Date.now() - t0 > WAIT_LIMIT_MS) throw deadlock(what, `stayed held for ${WAIT_LIMIT_MS} ms (its holder died, or this thread holds it)`);
  }
}

/** Release the writer lock taken by lockWord. */
export function unlockWord(i32: Int32Array, idx: number): void {
  if (Atomics.exchange(i32, idx, 0) === 2) Atomics.notify(i32, idx, 1);
}

/**
 * Take a value's bpf_spin_lock (0 free, 1 held: the spin_lock helper's
 * protocol, which spins and never notifies) at byte address `addr`.
 */
export function spinLockAt(i32: Int32Array, addr: number, what: string): void {
  const idx = addr >>> 2;
  if (Atomics.compareExchange(i32, idx, 0, 1) === 0) return;
  if (!(i32.buffer instanceof SharedArrayBuffer)) throw deadlock(what, 'bpf_spin_lock is held (a program took it and did not release it)');
  const t0 = Date.now();
  for (let n = 0; Atomics.compareExchange(i32, idx, 0, 1) !== 0; n++) {
    if (n >= SPINS) {
      sleepWhile(i32, idx, 1);
      if (Date.now() - t0 > WAIT_LIMIT_MS) throw deadlock(what, `bpf_spin_lock stayed held for ${WAIT_LIMIT_MS} ms`);
    }
  }
}

export function spinUnlockAt(i32: Int32Array, addr: number): void {
  Atomics.store(i32, addr >>> 2, 0);
}

function deadlock(what: string, why: string): MapError {
  return new MapError(EBUSY, what, 'lock', `lock ${why}`);
}
