// tcpdump filter expressions (pcap-filter(7)) compiled to classic BPF.
export { compileFilter, DEFAULT_SNAPLEN, type FilterOptions } from './compile.js';
export { FilterError } from './errors.js';
export { parseFilter } from './parser.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export { LINKTYPE, linkLayer, type LinkLayer } from './link.js';
export type { Expr, Arith, Quals, Id } from './ast.js';
