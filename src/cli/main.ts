#!/usr/bin/env node
// `node dist/src/cli/main.js`: the command line as an ES module, for the
// tests, scripts and docs that start it this way. The `tsbpf` binary is
// bin/tsbpf.cjs, which starts the same launcher (launch.cts: the bundle with
// its code cache, or the ES modules) from CommonJS and so skips the ~5 ms
// Node spends on starting its ES-module loader for an ES-module entry.

import { createRequire } from 'node:module';

// require, not import: importing CommonJS from an ES module goes through
// Node's CommonJS-to-ES translation (a parse of the file for its export names).
const { startCli } = createRequire(import.meta.url)('./launch.cjs') as typeof import('./launch.cjs');
await startCli(process.argv.slice(2));
