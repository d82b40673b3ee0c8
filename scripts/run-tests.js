#!/usr/bin/env node
// Runs every compiled test file with node's test runner. Usage:
//   node scripts/run-tests.js [filter...]   (filters match file paths)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const roots = [
  ...fs.readdirSync(path.join(root, 'packages')).map((p) => path.join(root, 'packages', p, 'dist', 'test')),
  path.join(root, 'test', 'dist'),
];

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((dir) => walk(dir, []))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .sort();
if (files.length === 0) {
  console.error('no test files found; run `npm run build` first');
  process.exit(1);
}
const concurrency = process.env.FLEET_TEST_CONCURRENCY || '2';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
