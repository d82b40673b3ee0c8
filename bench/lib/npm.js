'use strict';
// Bench-only npm packages (PM2, autocannon) live in bench/.pm2-bench, never in
// the repo's node_modules: installed with the ordinary npm client on first use.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PREFIX = path.join(__dirname, '..', '.pm2-bench');

/** Installs `spec` (e.g. "pm2@latest") into bench/.pm2-bench unless `name` is there; returns its folder. */
function ensurePackage(name, spec = `${name}@latest`) {
  const dir = path.join(PREFIX, 'node_modules', name);
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    process.stdout.write(`[bench] installing ${spec} into ${path.relative(process.cwd(), PREFIX) || PREFIX} …\n`);
    fs.mkdirSync(PREFIX, { recursive: true });
    execFileSync('npm', ['install', '--prefix', PREFIX, '--no-audit', '--no-fund', '--loglevel=error', spec], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  return dir;
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(PREFIX, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

module.exports = { PREFIX, ensurePackage, packageVersion };
