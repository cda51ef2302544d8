// Subpath export `tsbpf/registry`: what is loaded in a runtime (programs,
// maps, links), program tags, and the inspection endpoint the CLI talks to.
export { Registry, RegistryError } from './registry.js';
export type { RegistryOptions } from './registry.js';
export { programTag } from './tag.js';
export { serveInspection } from './endpoint.js';
export type { InspectionServer, ServeOptions } from './endpoint.js';
export { request, traceLines, RemoteError } from './client.js';
export { socketDir, socketPath, listSockets, findSocket, InspectError } from './socket-dir.js';
export type * from './protocol.js';
export { formatProg, formatMap, formatLink, formatDump } from './format.js';
