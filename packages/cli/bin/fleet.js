#!/usr/bin/env node
'use strict';
// Plain JS so it runs as built; __dirname is this file's real directory even
// when npm links it as node_modules/.bin/fleet.
require('../dist/src/main.js').run(process.argv);
