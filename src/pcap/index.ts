// Subpath export `tsbpf/pcap`: streaming capture readers and writers.
export { CaptureParser, setTimestamp } from './parser.js';
export type { CaptureFormat, CaptureParserOptions, InterfaceInfo, PacketRecord } from './parser.js';
export { parseCapture, readCapture, readCaptureSync } from './reader.js';
export type { ReadCaptureOptions } from './reader.js';
export { PcapWriter, PcapngWriter, MemorySink, fileSink } from './writer.js';
export type { ByteSink, PacketToWrite, PcapWriterOptions, PcapngInterface } from './writer.js';
export { LINKTYPE, linkTypeInfo, linkTypeName, linkTypeByName } from './linktype.js';
export type { LinkTypeInfo } from './linktype.js';
export { CaptureError } from './errors.js';
