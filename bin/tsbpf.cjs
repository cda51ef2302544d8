#!/usr/bin/env node
// The `tsbpf` binary. CommonJS on purpose: an ES-module entry makes Node start
// its ES-module loader first (~5 ms), and `tsbpf filter` on a million packets
// runs about as long as Node's start-up. launch.cjs (src/cli/launch.cts)
// loads the CLI bundle with its code cache, or the ES modules when the
// bundle is missing or older than the build.
'use strict';

require('../dist/src/cli/launch.cjs').startCli(process.argv.slice(2));
