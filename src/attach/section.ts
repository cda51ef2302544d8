// Which attach point a section name asks for. The names follow libbpf's
// conventions, read for Node.js probe points:
//   tracepoint/CHANNEL, tp/CHANNEL   a diagnostics_channel channel (any name, dots and colons included)
//   uprobe/PATH                      entry of a JavaScript function (PATH: 'name' or 'root.prop.fn')
//   uretprobe/PATH                   return of that function
//   usdt/PROVIDER:NAME, usdt/NAME    a user-defined static probe (probe.fire)

export type AttachKind = 'tracepoint' | 'uprobe' | 'uretprobe' | 'usdt';

export interface AttachPoint {
  readonly kind: AttachKind;
  /** Channel name, function path or probe name. */
  readonly target: string;
}

const PREFIXES: ReadonlyArray<readonly [prefix: string, kind: AttachKind]> = [
  ['tracepoint/', 'tracepoint'],
  ['tp/', 'tracepoint'],
  ['uprobe/', 'uprobe'],
  ['uretprobe/', 'uretprobe'],
  ['usdt/', 'usdt'],
];

/** The attach point a section names, or undefined when it names none (xdp, socket, ...). */
export function attachPointOf(section: string): AttachPoint | undefined {
  for (const [prefix, kind] of PREFIXES) {
    if (section.startsWith(prefix) && section.length > prefix.length) return { kind, target: section.slice(prefix.length) };
  }
  return undefined;
}
