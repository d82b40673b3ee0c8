'use strict';
// Loads the bundled CLI with a V8 code cache beside it (fleet.bundle.js.cache):
// compiled code is reused instead of recompiled on every command. The cache is
// written after a run when missing or rejected (V8 rejects it by itself when
// node, flags or the bundle changed), atomically, and silently skipped where
// the folder is not writable.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

module.exports = function loadBundle(file) {
  const source = fs.readFileSync(file, 'utf8');
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // first run: compiled from source, cache written at exit
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
  });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // read-only install: every run compiles, nothing else changes
      }
    });
  }
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext();
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
};
