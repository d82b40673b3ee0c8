#!/usr/bin/env node
'use strict';
// Plain JS so it runs as built; __dirname is this file's real directory even
// when npm links it as node_modules/.bin/fleet. Prefers the bundled CLI (fast
// start-up, see scripts/bundle-cli.js), falls back to the plain build.
const fs = require('node:fs');
const path = require('node:path');

const bundle = path.join(__dirname, '..', 'dist', 'fleet.bundle.js');
const cli =
  process.env.FLEET_CLI_UNBUNDLED !== '1' && fs.existsSync(bundle)
    ? require('./load-bundle.js')(bundle)
    : require('../dist/src/main.js');
cli.run(process.argv);
