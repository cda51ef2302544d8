#!/usr/bin/env node
// The `tsbpf` binary. CommonJS on purpose: an ES-module entry makes Node start
// its ES-module loader first (~5 ms), and `tsbpf filter` on a million packets
// runs about as long as Node's start-up. launch.cjs (src/cli/launch.cts)
// loads the CLI bundle with its code cache, or the ES modules when the
// bundle is missing or older than the build.
'use strict';

const launcher = require('node:path').join(__dirname, '..', 'dist', 'src', 'cli', 'launch.cjs');
let startCli;
try {
  ({ startCli } = require(launcher));
} catch (e) {
  // A checkout that was never built: say so instead of a stack trace.
  if (e && e.code === 'MODULE_NOT_FOUND' && !require('node:fs').existsSync(launcher)) {
    process.stderr.write(`tsbpf: ${launcher} is missing: build tsbpf first (npm run build)\n`);
    process.exit(1);
  }
  throw e;
}
startCli(process.argv.slice(2));
