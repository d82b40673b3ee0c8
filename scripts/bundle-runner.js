#!/usr/bin/env node
// Bundles the runner into one file (packages/agent/dist/bundle/runner/runner-main.js).
// A runner is paid once per app, and its plain build requires @fleet/protocol/runner
// through the package's "exports" map, which makes Node load its ESM resolver
// (~0.5 MB private per runner). One file has no package to resolve. The bundle
// sits at the same depth as dist/src/runner so paths beside it (../../../shim)
// hold, and keeps the name runner-main.js that tools look for in `ps`. The plain
// build stays the fallback (runner-launcher.ts) and what unit tests import.
'use strict';
const { bundle } = require('./lib-bundle');

bundle({
  entry: 'packages/agent/dist/src/runner/runner-main.js',
  outfile: 'packages/agent/dist/bundle/runner/runner-main.js',
  // Loaded only by apps that use them (cron_restart, max_memory_restart), from node_modules.
  external: ['cron-parser', 'pidusage'],
  missing: 'runners run unbundled (~0.7 MB more each)',
}).catch(() => process.exit(1));
