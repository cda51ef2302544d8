// The list of CLI verbs. Add one import and one entry per verb file.
import type { Command } from './command.js';
import { run } from './run.js';
import { conformancePlugin } from './conformance-plugin.js';
import { asm } from './asm.js';
import { dis } from './dis.js';
import { inspect } from './inspect.js';
import { cbpf } from './cbpf.js';
import { filter } from './filter.js';
import { prog } from './prog.js';
import { map } from './map.js';
import { link } from './link.js';
import { tracePipe } from './trace-pipe.js';

export const VERBS: Command[] = [asm, dis, inspect, run, conformancePlugin, cbpf, filter, prog, map, link, tracePipe];
