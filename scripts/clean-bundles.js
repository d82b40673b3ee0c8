#!/usr/bin/env node
// `npm run clean`: tsc --clean removes only what tsc wrote; the bundles go too.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
for (const f of ['packages/agent/dist/bundle', 'packages/cli/dist/fleet.bundle.js', 'packages/cli/dist/fleet.bundle.js.cache']) {
  fs.rmSync(path.join(root, f), { recursive: true, force: true });
}
