// Tracepoints on diagnostics_channel channels: SEC("tracepoint/CHANNEL").
// The program subscribes only while attached, so a channel nobody traces
// costs Node nothing. Node cannot list the channels that exist (any name is
// a channel), so attaching checks the name against Node's built-in channels
// and the ones the application declared with declareChannel(); a typo gets
// an AttachError with the closest name, instead of a link that never fires.

import dc from 'node:diagnostics_channel';
import { compileCtxWriter } from './ctx-writer.js';
import type { CtxLayout } from './ctx-layout.js';
import { BUILTIN_CHANNELS, closest } from './channel-fields.js';
import { AttachError } from './errors.js';
import { Link, type LinkOptions } from './link.js';
import type { AttachProgram } from './program.js';

const declared = new Set<string>();

/** Declare an application channel so programs may attach to it; returns the channel to publish on. */
export function declareChannel(name: string): dc.Channel {
  declared.add(name);
  return dc.channel(name);
}

/** Every channel a program may attach to without `anyChannel`. */
export function knownChannels(): string[] {
  return [...Object.keys(BUILTIN_CHANNELS), ...declared].sort();
}

export interface ChannelAttachOptions extends LinkOptions {
  /** Attach even to a channel that is neither built in nor declared (default false). */
  anyChannel?: boolean;
}

export function attachChannel(program: AttachProgram, channel: string, layout: CtxLayout, options: ChannelAttachOptions = {}): Link {
  if (!options.anyChannel && BUILTIN_CHANNELS[channel] === undefined && !declared.has(channel)) {
    const near = closest(channel, knownChannels());
    throw new AttachError(
      program.name,
      `channel ${channel}`,
      `no such channel: it is not one of Node's built-in channels and the application did not declare it (declareChannel)` +
        (near !== undefined ? `; did you mean '${near}'?` : ''),
    );
  }
  const writer = compileCtxWriter(layout, BUILTIN_CHANNELS[channel] ?? {});
  const link = new Link('tracepoint', channel, program, layout, writer, options);
  const onMessage = (message: unknown): void => link.fire(message);
  dc.subscribe(channel, onMessage);
  return link.hooked(() => {
    dc.unsubscribe(channel, onMessage);
  });
}
