#!/usr/bin/env node
'use strict';
require('../dist/src/daemon-main.js')
  .main({ foreground: true })
  .catch((err) => {
    process.stderr.write(`fleet agent failed: ${err.stack || err.message}\n`);
    process.exit(1);
  });
