// Stage 2 of the JIT: turn a function's control-flow graph into structured
// control flow (Wasm has block/loop/if and labelled breaks, not goto).
//
// Reducible graphs (what clang emits) follow Ramsey, "Beyond Relooper"
// (ICFP 2022): walk the dominator tree; a node with an incoming back edge is
// wrapped in a `loop`; the dominator-tree children of a node that have two
// or more forward predecessors ("merge nodes") are placed after nested
// `block`s, innermost first, so a branch to one is a `br` out of its block;
// any other forward target has the branching node as its only forward
// predecessor and is inlined in place.
//
// Irreducible graphs (a cycle with two entries) fall back to a dispatcher: a
// label local and a `br_table` inside one loop that holds every block. Slow,
// but always correct; clang practically never produces such graphs.

import { Term, type BasicBlock, type FuncCfg } from './blocks.js';

/** Where a branch goes: the head of an enclosing loop, or the end of the block that the target follows. */
export interface Target {
  readonly to: 'loop' | 'follow';
  readonly bb: number;
}

export type SNode =
  | { readonly kind: 'block'; readonly follow: number; readonly body: readonly SNode[] }
  | { readonly kind: 'loop'; readonly header: number; readonly body: readonly SNode[] }
  /** The straight-line instructions of a basic block (all but a jump terminator). */
  | { readonly kind: 'code'; readonly bb: number }
  /** if (condition of bb's terminator) then ... else ... */
  | { readonly kind: 'if'; readonly bb: number; readonly then: readonly SNode[]; readonly else: readonly SNode[] }
  /** br_if on bb's condition (negated: branch when it is false). */
  | { readonly kind: 'brif'; readonly bb: number; readonly negate: boolean; readonly target: Target }
  | { readonly kind: 'br'; readonly target: Target }
  /** return r0 */
  | { readonly kind: 'exit'; readonly bb: number }
  /** Execution ran off the end of the function after the instruction at slot pc. */
  | { readonly kind: 'falloff'; readonly pc: number }
  /** The irreducible fallback: one loop dispatching on a label local to bodies[i] (block order[i]). */
  | { readonly kind: 'dispatch'; readonly order: readonly number[]; readonly bodies: readonly (readonly SNode[])[] }
  /** Inside a dispatch: set the label to the index of block bb and re-dispatch. */
  | { readonly kind: 'goto'; readonly bb: number };

export interface Structured {
  readonly tree: readonly SNode[];
  /** True if the graph was irreducible and the dispatcher fallback was used. */
  readonly dispatcher: boolean;
  /** Blocks reachable from the entry, in reverse postorder. */
  readonly rpo: readonly number[];
  /**
   * Blocks every cycle passes through (loop headers; every block under the
   * dispatcher), where the budget is checked: 1 = yes.
   */
  readonly cycleCut: Uint8Array;
}

/** Successor block ids of a block (-1, the fall-off edge, excluded). */
export function successors(b: BasicBlock): number[] {
  switch (b.term) {
    case Term.Fall:
      return [b.next];
    case Term.Jump:
      return [b.taken];
    case Term.Cond:
      return b.next >= 0 && b.next !== b.taken ? [b.taken, b.next] : [b.taken];
    default:
      return [];
  }
}

/** Up to two successors per block as flat arrays (-1 = none), built once per function. */
export interface SuccTable {
  readonly s0: Int32Array;
  readonly s1: Int32Array;
}

export function successorTable(blocks: readonly BasicBlock[]): SuccTable {
  const n = blocks.length;
  const s0 = new Int32Array(n).fill(-1);
  const s1 = new Int32Array(n).fill(-1);
  for (let b = 0; b < n; b++) {
    const succ = successors(blocks[b]!);
    if (succ.length > 0) s0[b] = succ[0]!;
    if (succ.length > 1) s1[b] = succ[1]!;
  }
  return { s0, s1 };
}

/** Reverse postorder of the blocks reachable from block 0 (iterative DFS). */
export function reversePostorder(blocks: readonly BasicBlock[], succ: SuccTable = successorTable(blocks)): number[] {
  const n = blocks.length;
  const state = new Uint8Array(n); // 1 = seen
  const post: number[] = [];
  const stack = new Int32Array(n);
  const next = new Uint8Array(n); // which successor of the block to visit next
  let sp = 0;
  stack[sp++] = 0;
  state[0] = 1;
  while (sp > 0) {
    const b = stack[sp - 1]!;
    const k = next[b]!;
    if (k < 2) {
      next[b] = k + 1;
      const c = k === 0 ? succ.s0[b]! : succ.s1[b]!;
      if (c >= 0 && state[c] === 0) {
        state[c] = 1;
        stack[sp++] = c;
      }
      continue;
    }
    post.push(b);
    sp--;
  }
  return post.reverse();
}

/**
 * Immediate dominators (Cooper, Harvey, Kennedy, "A Simple, Fast Dominance
 * Algorithm"). idom[entry] = entry; unreachable blocks get -1.
 */
export function dominators(blocks: readonly BasicBlock[], rpo: readonly number[], succ: SuccTable = successorTable(blocks)): Int32Array {
  const n = blocks.length;
  const order = new Int32Array(n).fill(-1);
  rpo.forEach((b, i) => (order[b] = i));
  // predecessors of reachable blocks, as compressed rows
  const count = new Int32Array(n + 1);
  for (const b of rpo) {
    if (succ.s0[b]! >= 0) count[succ.s0[b]! + 1]!++;
    if (succ.s1[b]! >= 0) count[succ.s1[b]! + 1]!++;
  }
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!;
  const fill = count.slice(0, n);
  const preds = new Int32Array(count[n]!);
  for (const b of rpo) {
    if (succ.s0[b]! >= 0) preds[fill[succ.s0[b]!]!++] = b;
    if (succ.s1[b]! >= 0) preds[fill[succ.s1[b]!]!++] = b;
  }
  const idom = new Int32Array(n).fill(-1);
  idom[rpo[0]!] = rpo[0]!;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! > order[b]!) a = idom[a]!;
      while (order[b]! > order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < rpo.length; i++) {
      const b = rpo[i]!;
      let d = -1;
      for (let k = count[b]!; k < count[b + 1]!; k++) {
        const p = preds[k]!;
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== idom[b]) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  return idom;
}

/** Does a dominate b? */
function dominates(idom: Int32Array, a: number, b: number): boolean {
  for (;;) {
    if (b === a) return true;
    const up = idom[b]!;
    if (up === b || up < 0) return false;
    b = up;
  }
}

/** Build the structure tree of one function. */
export function structure(f: FuncCfg): Structured {
  const blocks = f.blocks;
  const succ = successorTable(blocks);
  const rpo = reversePostorder(blocks, succ);
  const idom = dominators(blocks, rpo, succ);
  const order = new Int32Array(blocks.length).fill(-1);
  rpo.forEach((b, i) => (order[b] = i));

  const loopHeader = new Uint8Array(blocks.length);
  const forwardPreds = new Uint16Array(blocks.length);
  let reducible = true;
  for (const b of rpo) {
    for (let k = 0; k < 2; k++) {
      const s = k === 0 ? succ.s0[b]! : succ.s1[b]!;
      if (s < 0) continue;
      if (order[s]! <= order[b]!) {
        loopHeader[s] = 1;
        if (!dominates(idom, s, b)) reducible = false; // a retreating edge that is not a back edge
      } else forwardPreds[s]!++;
    }
  }
  if (!reducible) return { tree: [dispatch(blocks, rpo)], dispatcher: true, rpo, cycleCut: new Uint8Array(blocks.length).fill(1) };

  const isMerge = (b: number): boolean => forwardPreds[b]! >= 2;
  // The merge children of each node in the dominator tree, highest
  // reverse-postorder number first (rpo is walked backwards), as compressed rows.
  const mergeStart = new Int32Array(blocks.length + 1);
  for (const b of rpo) if (b !== rpo[0] && isMerge(b)) mergeStart[idom[b]! + 1]!++;
  for (let i = 0; i < blocks.length; i++) mergeStart[i + 1]! += mergeStart[i]!;
  const mergeList = new Int32Array(mergeStart[blocks.length]!);
  const fill = mergeStart.slice(0, blocks.length);
  for (let i = rpo.length - 1; i > 0; i--) {
    const b = rpo[i]!;
    if (isMerge(b)) mergeList[fill[idom[b]!]!++] = b;
  }

  // Ramsey's functions are recursive, and their recursion is as deep as the
  // program is long (every merge or inlined successor is a nested call). The
  // work list below does the same without recursion: doTree(y, out) is
  // always the last thing that writes to `out` in its caller, so deferring
  // it cannot reorder anything, and every array is filled by one task.
  const work: Array<readonly [number, SNode[]]> = [];
  const blocksToTrim: Array<readonly [SNode[], number]> = [];
  const doTree = (x: number, out: SNode[]): void => {
    work.push([x, out]);
  };
  const expand = (x: number, out: SNode[]): void => {
    if (loopHeader[x]) {
      const body: SNode[] = [];
      out.push({ kind: 'loop', header: x, body });
      out = body;
    }
    // nodeWithin: block y0 { block y1 { ... { code x } ... } tree(y1) } tree(y0)
    // Merge children, highest reverse-postorder number first: the first one
    // gets the outermost block, so its code comes last.
    for (let k = mergeStart[x]!; k < mergeStart[x + 1]!; k++) {
      const y = mergeList[k]!;
      const body: SNode[] = [];
      out.push({ kind: 'block', follow: y, body });
      blocksToTrim.push([body, y]);
      doTree(y, out);
      out = body;
    }
    out.push({ kind: 'code', bb: x });
    branches(x, out);
  };
  const isBr = (x: number, y: number): boolean => y >= 0 && (order[y]! <= order[x]! || isMerge(y));
  const brTarget = (x: number, y: number): Target => (order[y]! <= order[x]! ? { to: 'loop', bb: y } : { to: 'follow', bb: y });
  /** The branch x -> y as a br, or (y has no other forward predecessor) y's code in place. */
  const doBranch = (x: number, y: number, out: SNode[]): void => {
    if (y < 0) out.push({ kind: 'falloff', pc: blocks[x]!.last });
    else if (isBr(x, y)) out.push({ kind: 'br', target: brTarget(x, y) });
    else doTree(y, out);
  };
  const branches = (x: number, out: SNode[]): void => {
    const b = blocks[x]!;
    switch (b.term) {
      case Term.Exit:
        out.push({ kind: 'exit', bb: x });
        return;
      case Term.FallOff:
        out.push({ kind: 'falloff', pc: b.last });
        return;
      case Term.Fall:
        doBranch(x, b.next, out);
        return;
      case Term.Jump:
        doBranch(x, b.taken, out);
        return;
      case Term.Cond: {
        // A conditional jump to the next instruction goes there either way.
        if (b.taken === b.next) {
          doBranch(x, b.next, out);
          return;
        }
        // One arm that is a plain branch becomes a br_if; the other arm follows in place.
        if (isBr(x, b.taken)) {
          out.push({ kind: 'brif', bb: x, negate: false, target: brTarget(x, b.taken) });
          doBranch(x, b.next, out);
        } else if (isBr(x, b.next)) {
          out.push({ kind: 'brif', bb: x, negate: true, target: brTarget(x, b.next) });
          doBranch(x, b.taken, out);
        } else {
          // Code never falls out of an arm (it ends in a branch, exit or
          // fall-off), so the false arm can follow the `if` instead of
          // sitting in an `else`: chains of tests stay flat.
          const t: SNode[] = [];
          out.push({ kind: 'if', bb: x, then: t, else: [] });
          doBranch(x, b.taken, t);
          doBranch(x, b.next, out);
        }
        return;
      }
    }
  };
  const tree: SNode[] = [];
  doTree(rpo[0]!, tree);
  for (let task = work.pop(); task !== undefined; task = work.pop()) expand(task[0], task[1]);
  // A br to the end of the very block it ends is a no-op.
  for (const [body, follow] of blocksToTrim) {
    const last = body[body.length - 1];
    if (last !== undefined && last.kind === 'br' && last.target.to === 'follow' && last.target.bb === follow) body.pop();
  }
  return { tree, dispatcher: false, rpo, cycleCut: loopHeader };
}

function dispatch(blocks: readonly BasicBlock[], rpo: readonly number[]): SNode {
  const bodies = rpo.map((x): SNode[] => {
    const b = blocks[x]!;
    const go = (y: number): SNode => (y < 0 ? { kind: 'falloff', pc: b.last } : { kind: 'goto', bb: y });
    switch (b.term) {
      case Term.Exit:
        return [{ kind: 'code', bb: x }, { kind: 'exit', bb: x }];
      case Term.FallOff:
        return [{ kind: 'code', bb: x }, { kind: 'falloff', pc: b.last }];
      case Term.Fall:
        return [{ kind: 'code', bb: x }, go(b.next)];
      case Term.Jump:
        return [{ kind: 'code', bb: x }, go(b.taken)];
      case Term.Cond:
        return [{ kind: 'code', bb: x }, { kind: 'if', bb: x, then: [go(b.taken)], else: [go(b.next)] }];
    }
  });
  return { kind: 'dispatch', order: rpo, bodies };
}

/**
 * Check the invariants the emitter relies on: every reachable block's code
 * appears exactly once, and every branch has an enclosing label to go to.
 * Returns a list of problems (empty when the tree is well formed).
 */
export function checkStructure(s: Structured): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  const labels: string[] = [];
  const walk = (nodes: readonly SNode[]): void => {
    for (const n of nodes) {
      switch (n.kind) {
        case 'block':
          labels.push(`follow:${n.follow}`);
          walk(n.body);
          labels.pop();
          break;
        case 'loop':
          labels.push(`loop:${n.header}`);
          walk(n.body);
          labels.pop();
          break;
        case 'if':
          labels.push('if');
          walk(n.then);
          walk(n.else);
          labels.pop();
          break;
        case 'code':
          seen.set(n.bb, (seen.get(n.bb) ?? 0) + 1);
          break;
        case 'br':
        case 'brif':
          if (!labels.includes(`${n.target.to}:${n.target.bb}`)) problems.push(`branch to ${n.target.to} ${n.target.bb} has no enclosing label`);
          break;
        case 'goto':
          if (!labels.includes('dispatch')) problems.push(`goto ${n.bb} outside a dispatcher`);
          break;
        case 'dispatch':
          labels.push('dispatch');
          n.bodies.forEach((b) => walk(b));
          labels.pop();
          break;
        default:
          break;
      }
    }
  };
  walk(s.tree);
  for (const b of s.rpo) {
    const c = seen.get(b) ?? 0;
    if (c !== 1) problems.push(`block ${b} emitted ${c} times`);
  }
  return problems;
}

/** Human-readable tree, one node per line (for tests and debugging). */
export function printStructure(nodes: readonly SNode[], indent = ''): string {
  let out = '';
  const tgt = (t: Target): string => `${t.to === 'loop' ? 'L' : 'B'}${t.bb}`;
  for (const n of nodes) {
    switch (n.kind) {
      case 'block':
        out += `${indent}block B${n.follow}\n${printStructure(n.body, indent + '  ')}${indent}end B${n.follow}\n`;
        break;
      case 'loop':
        out += `${indent}loop L${n.header}\n${printStructure(n.body, indent + '  ')}${indent}end L${n.header}\n`;
        break;
      case 'code':
        out += `${indent}code ${n.bb}\n`;
        break;
      case 'if':
        out += `${indent}if cond${n.bb}\n${printStructure(n.then, indent + '  ')}`;
        if (n.else.length > 0) out += `${indent}else\n${printStructure(n.else, indent + '  ')}`;
        out += `${indent}end\n`;
        break;
      case 'brif':
        out += `${indent}br_if ${n.negate ? '!' : ''}cond${n.bb} ${tgt(n.target)}\n`;
        break;
      case 'br':
        out += `${indent}br ${tgt(n.target)}\n`;
        break;
      case 'exit':
        out += `${indent}exit\n`;
        break;
      case 'falloff':
        out += `${indent}falloff ${n.pc}\n`;
        break;
      case 'goto':
        out += `${indent}goto ${n.bb}\n`;
        break;
      case 'dispatch':
        out += `${indent}dispatch [${n.order.join(' ')}]\n`;
        n.bodies.forEach((b, i) => (out += `${indent}  case ${n.order[i]}:\n${printStructure(b, indent + '    ')}`));
        break;
    }
  }
  return out;
}
