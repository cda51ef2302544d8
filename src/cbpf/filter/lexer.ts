// The tokenizer of pcap-filter expressions. Like libpcap's flex scanner it
// takes the longest match at each position, so `len-1` is one identifier
// (and a syntax error), `10-20` is an identifier (a port range), and
// `tcp-syn` is the number 2. Addresses are recognised here: dotted IPv4
// (`hid`), IPv6 (`hid6`) and MAC (`eid`).

import { FilterError, syntaxError } from './errors.js';
import { KEYWORDS, NAMED_NUMBERS } from './names.js';

export type TokenKind = 'kw' | 'num' | 'hid' | 'hid6' | 'eid' | 'id' | 'op' | 'eof' | 'error';

export interface Token {
  readonly kind: TokenKind;
  /** The text as written (for `id` from `\name`: without the backslash). */
  readonly text: string;
  /** For `num`: the value, unsigned 32-bit. */
  readonly value: number;
  /** 0-based offset in the expression. */
  readonly pos: number;
  /** For `error`: what lexing this token would report. */
  readonly error?: FilterError;
}

/** Operators, longest first so that `>=` wins over `>`. */
const OPERATORS = ['>=', '<=', '!=', '==', '<<', '>>', '&&', '||', '=', '>', '<', '!', '&', '|', '^', '+', '-', '*', '/', '%', '(', ')', '[', ']', ':'];

const ID_RE = /[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/y;
const V6_CHARS_RE = /[0-9A-Fa-f:.]+/y;
const MAC_SIX_RE = /^[0-9A-Fa-f]{1,2}([:.-][0-9A-Fa-f]{1,2}){5}$/;
const MAC_DOTTED_RE = /^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/;
const MAC_PLAIN_RE = /^[0-9A-Fa-f]{12}$/;
const MAC_CHARS_RE = /[0-9A-Fa-f:.-]+/y;
const HID_RE = /^[0-9]+(\.[0-9]+){1,3}$/;

/** Parse an IPv6 address (with optional trailing dotted quad) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    const q = s.slice(lastColon + 1).split('.');
    if (q.length !== 4 || q.some((p) => !/^[0-9]{1,3}$/.test(p) || Number(p) > 255)) return null;
    const n = q.map(Number);
    s = s.slice(0, lastColon + 1) + ((n[0]! << 8) | n[1]!).toString(16) + ':' + ((n[2]! << 8) | n[3]!).toString(16);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return null;
    all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parse a MAC address in any of the accepted spellings into 6 bytes, or null. */
export function parseMac(text: string): Uint8Array | null {
  let hex: string;
  if (MAC_SIX_RE.test(text)) hex = text.split(/[:.-]/).map((b) => b.padStart(2, '0')).join('');
  else if (MAC_DOTTED_RE.test(text)) hex = text.replaceAll('.', '');
  else if (MAC_PLAIN_RE.test(text)) hex = text;
  else return null;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A C-style integer literal (decimal, 0x hex, leading-0 octal) with libpcap's range errors. */
function parseNumber(text: string, pos: number): number {
  let v: number;
  if (/^0[xX]/.test(text)) v = parseInt(text.slice(2), 16);
  else if (text.length > 1 && text.startsWith('0')) {
    if (/[89]/.test(text)) throw new FilterError(`number ${text} contains non-octal digit`, pos);
    v = parseInt(text, 8);
  } else v = parseInt(text, 10);
  if (v > 0xffffffff) throw new FilterError(`number ${text} overflows 32 bits`, pos);
  return v;
}

function matchAt(re: RegExp, src: string, pos: number): string {
  re.lastIndex = pos;
  const m = re.exec(src);
  return m ? m[0] : '';
}

/** Classify a word the identifier rule matched. */
function classifyWord(text: string, pos: number): Token {
  if (KEYWORDS.has(text)) return { kind: 'kw', text, value: 0, pos };
  const named = NAMED_NUMBERS.get(text);
  if (named !== undefined) return { kind: 'num', text, value: named, pos };
  if (/^[0-9]+$/.test(text) || /^0[xX][0-9A-Fa-f]+$/.test(text)) return { kind: 'num', text, value: parseNumber(text, pos), pos };
  if (HID_RE.test(text)) return { kind: 'hid', text, value: 0, pos };
  return { kind: 'id', text, value: 0, pos };
}

/** Split an expression into tokens; the last token is `eof`. Throws the first lexical error. */
export function tokenize(src: string): Token[] {
  const toks = scan(src);
  const bad = toks.find((t) => t.kind === 'error');
  if (bad?.error) throw bad.error;
  return toks;
}

/**
 * Like tokenize, but a lexical error becomes an `error` token where it
 * happened. libpcap lexes on demand, so `host foo and $` reports the unknown
 * host before the bad character; the parser raises the error only when it
 * reaches the token.
 */
export function scan(src: string): Token[] {
  const out: Token[] = [];
  try {
    lexInto(out, src);
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    const pos = e.offset ?? src.length;
    out.push({ kind: 'error', text: src.slice(pos), value: 0, pos, error: new FilterError(e.reason, pos, src) });
  }
  out.push({ kind: 'eof', text: '', value: 0, pos: src.length });
  return out;
}

function lexInto(out: Token[], src: string): void {
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\') {
      // `\name`: an identifier even when name is a keyword (libpcap: \\[^ !()\n\t]+).
      const m = /[^ !()\n\t]+/y;
      const word = matchAt(m, src, i + 1);
      if (word === '') throw syntaxError(i, src);
      out.push({ kind: 'id', text: word, value: 0, pos: i });
      i += 1 + word.length;
      continue;
    }
    const isWordStart = /[A-Za-z0-9]/.test(c) || (c === ':' && src[i + 1] === ':');
    if (isWordStart) {
      const word = /[A-Za-z0-9]/.test(c) ? matchAt(ID_RE, src, i) : '';
      const v6 = matchAt(V6_CHARS_RE, src, i);
      const mac = matchAt(MAC_CHARS_RE, src, i);
      // Longest match wins; addresses beat identifiers on a tie.
      const v6ok = v6.includes(':') && parseIPv6(v6) !== null && !MAC_SIX_RE.test(v6);
      const macOk = parseMac(mac) !== null;
      if (macOk && mac.length >= word.length && (!v6ok || mac.length >= v6.length)) {
        out.push({ kind: 'eid', text: mac, value: 0, pos: i });
        i += mac.length;
      } else if (v6ok && v6.length >= word.length) {
        out.push({ kind: 'hid6', text: v6, value: 0, pos: i });
        i += v6.length;
      } else if (word !== '') {
        out.push(classifyWord(word, i));
        i += word.length;
      } else throw syntaxError(i, src);
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw syntaxError(i, src);
    out.push({ kind: 'op', text: op, value: 0, pos: i });
    i += op.length;
  }
}
