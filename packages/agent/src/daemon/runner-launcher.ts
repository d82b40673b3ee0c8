// Starts a runner for one app as a detached process (its own session) whose
// stdio goes to a file, so nothing ties it to the agent: the agent can crash or
// be upgraded and the app keeps running.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppSpec, FLEET_VERSION, safeFileName } from '@fleet/protocol';

const PLAIN_RUNNER_DIR = path.resolve(__dirname, '../runner');
const BUNDLED_RUNNER = path.resolve(__dirname, '../../bundle/runner/runner-main.js');

/**
 * The bundled runner (scripts/bundle-runner.js: ~0.7 MB less per runner) when
 * `npm run build` made it after the plain build's runner files, else the plain
 * one: a `tsc -b` alone must not leave runners on older code.
 */
function runnerMain(): string {
  const mtime = (f: string): number => fs.statSync(f).mtimeMs;
  try {
    const newestPlain = Math.max(...fs.readdirSync(PLAIN_RUNNER_DIR).filter((f) => f.endsWith('.js')).map((f) => mtime(path.join(PLAIN_RUNNER_DIR, f))));
    if (mtime(BUNDLED_RUNNER) >= newestPlain) return BUNDLED_RUNNER;
  } catch {
    // no bundle: the plain build
  }
  return path.join(PLAIN_RUNNER_DIR, 'runner-main.js');
}
const RUNNER_MAIN = runnerMain();

/**
 * V8 flags that shrink an idle runner: it is paid once per app. A runner's heap
 * is a few MB, so garbage collection and compilation gain nothing from helper
 * threads: --single-threaded does them on the main thread, which saves ~0.33 MB
 * private per runner (and no CPU: a 2M-line log flood or 5000 connections
 * handed to the app cost the runner as much or less).
 */
const RUNNER_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=64', '--v8-pool-size=1', '--single-threaded'];

export function launchRunner(opts: {
  spec: AppSpec;
  desired: 'online' | 'stopped';
  runDir: string;
  env: NodeJS.ProcessEnv;
}): number {
  const base = path.join(opts.runDir, safeFileName(opts.spec.name));
  const bootFile = `${base}.boot.json`;
  fs.writeFileSync(
    bootFile,
    JSON.stringify({ spec: AppSpec.fromPartial(opts.spec), desired: opts.desired, runDir: opts.runDir, version: FLEET_VERSION }),
    { mode: 0o600 },
  );
  const logFd = fs.openSync(`${base}.runner.log`, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...RUNNER_NODE_FLAGS, RUNNER_MAIN, bootFile], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: opts.env,
      cwd: '/',
    });
    child.unref();
    return child.pid ?? -1;
  } finally {
    fs.closeSync(logFd);
  }
}
