#!/usr/bin/env node
// Bundles the CLI into one file (packages/cli/dist/fleet.bundle.js). `fleet ls`
// is dominated by start-up: resolving and compiling ~140 modules (grpc-js
// alone is 65). One file, loaded with a V8 code cache (packages/cli/bin/
// load-bundle.js), starts in about half the time. The unbundled dist/ stays the
// fallback and what unit tests import.
'use strict';
const path = require('node:path');
const { bundle, root } = require('./lib-bundle');

bundle({
  entry: 'packages/cli/dist/src/main.js',
  outfile: 'packages/cli/dist/fleet.bundle.js',
  // The daemon and the controller are loaded by path, never bundled into the CLI.
  // import-module holds the one dynamic import(), which must be compiled by Node's own loader.
  // tar and ignore serve `fleet deploy` only: loaded from node_modules when it runs, they cost no other command.
  external: ['@fleet/agent', '@fleet/agent/*', '@fleet/controller', '@fleet/controller/*', '@fleet/cli/package.json', '@fleet/protocol/import-module', 'tar', 'ignore'],
  missing: 'the CLI runs unbundled (slower start-up)',
})
  .then((built) => built && warmCodeCache())
  .catch(() => process.exit(1));

// The code cache holds what the first run compiled. Written by whichever command
// came first after a build (`fleet controller`, `--version`), it would miss the
// everyday path; so write it now from the everyday command, `fleet ls`, against
// a throwaway daemon (callgrind: ~5 % fewer instructions per `ls` than a cache
// written by `fleet ping`). Any failure just leaves the first real run to write it.
function warmCodeCache() {
  const fs = require('node:fs');
  const os = require('node:os');
  const { spawnSync } = require('node:child_process');
  const bundleFile = path.join(root, 'packages/cli/dist/fleet.bundle.js');
  const bin = path.join(root, 'packages/cli/bin/fleet.js');
  fs.rmSync(`${bundleFile}.cache`, { force: true });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-warm-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, FLEET_HOME: home, FLEET_CONTEXT: 'local' };
  try {
    // `ls` starts the daemon on first use; `kill` stops it (no app runs in this home).
    spawnSync(process.execPath, [bin, 'ls', '--json'], { env, stdio: 'ignore', timeout: 20_000 });
    spawnSync(process.execPath, [bin, 'kill'], { env, stdio: 'ignore', timeout: 20_000 });
  } finally {
    // A daemon that missed the kill (a build racing another) must not outlive its deleted home.
    try {
      const pid = Number(fs.readFileSync(path.join(home, 'daemon.pid'), 'utf8'));
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon-main')) process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}
