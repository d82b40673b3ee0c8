// One esbuild setup for Fleet's bundles (bundle-cli.js, bundle-runner.js): a
// single CommonJS file for Node 20, whitespace and syntax minified (less to read
// and hold; identifiers kept so stack traces stay readable). Without esbuild
// (a trimmed install) it warns and resolves to false: the plain build runs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Resolves true once `outfile` (relative to the repo) is written, false when esbuild is missing. */
async function bundle({ entry, outfile, external, missing }) {
  // An old bundle must never outlive a build that did not make a new one: it would run stale code.
  fs.rmSync(path.join(root, outfile), { force: true });
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    console.warn(`esbuild not installed: ${missing}`);
    return false;
  }
  await esbuild.build({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(root, outfile),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
  return true;
}

module.exports = { bundle, root };
