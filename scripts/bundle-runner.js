#!/usr/bin/env node
// Bundles the runner into one file (packages/agent/dist/bundle/runner/runner-main.js).
// A runner is paid once per app, and its plain build requires @fleet/protocol/runner
// through the package's "exports" map, which makes Node load its ESM resolver
// (~0.5 MB private per runner). One file has no package to resolve. The bundle
// sits at the same depth as dist/src/runner so paths beside it (../../../shim)
// hold, and keeps the name runner-main.js that tools look for in `ps`. The plain
// build stays the fallback (runner-launcher.ts) and what unit tests import.
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  console.warn('esbuild not installed: runners run unbundled (~0.5 MB more each)');
  process.exit(0);
}
esbuild
  .build({
    entryPoints: [path.join(root, 'packages/agent/dist/src/runner/runner-main.js')],
    outfile: path.join(root, 'packages/agent/dist/bundle/runner/runner-main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Loaded only by apps that use them (cron_restart, max_memory_restart), from node_modules.
    external: ['cron-parser', 'pidusage'],
    // Less source held in every runner; identifiers kept so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  })
  .catch(() => process.exit(1));
