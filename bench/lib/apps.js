'use strict';
// The app every system runs (test/fixtures/app.js, as written) and the
// ecosystem files both Fleet and PM2 read. Every app started by the bench
// carries BENCH_RUN=<id> in its env, so a final sweep can find any leftover.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE_APP = path.join(ROOT, 'test', 'fixtures', 'app.js');
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const MARK_KEY = 'BENCH_RUN';
const MARK = `${MARK_KEY}=${RUN_ID}`;

let tmpRoot;
/** A scratch folder for this bench run (ecosystem files, log files). */
function scratch(sub) {
  if (!tmpRoot) tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-run-'));
  const dir = path.join(tmpRoot, sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function removeScratch() {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = undefined;
}

/** One app entry of an ecosystem file (PM2's keys, which Fleet reads as they are). */
function appSpec({ name, port, instances = 1, mode = 'fork', env = {}, script = FIXTURE_APP, ...extra }) {
  return {
    name,
    script,
    exec_mode: mode,
    instances,
    env: { ...(port !== undefined ? { PORT: String(port) } : {}), [MARK_KEY]: RUN_ID, ...env },
    ...extra,
  };
}

/** Writes `<dir>/<file>` as `module.exports = { apps }` and returns its path. */
function writeEcosystem(dir, file, apps) {
  const p = path.join(dir, file);
  fs.writeFileSync(p, `module.exports = ${JSON.stringify({ apps }, null, 2)};\n`);
  return p;
}

/**
 * The one base environment every system gets (Fleet's CLI and so its daemon,
 * PM2's CLI and so its God daemon, plain apps): the shell's env can carry
 * things that change an app's memory (NODE_EXTRA_CA_CERTS alone adds ~1 MB of
 * C heap to every Node process), and Fleet passes apps only their config env
 * while PM2 passes everything, so without this the comparison would measure
 * the shell.
 */
function baseEnv(extra = {}) {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TMPDIR', 'TERM'];
  const env = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, NO_COLOR: '1', ...extra };
}

/** The env a plainly run app gets: the base env plus its own (what PM2 gives it too). */
function plainEnv(env) {
  return { ...baseEnv(), [MARK_KEY]: RUN_ID, ...env };
}

module.exports = { ROOT, FIXTURE_APP, RUN_ID, MARK, appSpec, writeEcosystem, baseEnv, plainEnv, scratch, removeScratch };
