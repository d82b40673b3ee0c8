// Shared by the config tests: where the fixture files are, and options that
// make compiles exact (CPU count, PATH and logs folder are fixed).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CompileOptions } from '../../src/config';
import { displayPath } from '../../src/config/config-error';

// Tests run from dist/test/config; the fixtures stay in the source tree.
export const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/config');
export const LOGS = '/var/lib/fleet/logs';
/** A PATH holding only stand-ins for npm and bash, so results do not depend on the host. */
export const FAKE_PATH = path.join(FIXTURES, 'fake-path');

export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

export function baseOptions(extra: Partial<CompileOptions> = {}): CompileOptions {
  return { cwd: FIXTURES, logsDir: LOGS, cpuCount: 4, shellEnv: { PATH: FAKE_PATH }, ...extra };
}

/** A throwaway folder for cases that need files the repository should not hold. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-config-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How messages show a fixture file (relative to the working directory when under it). */
export function shown(file: string): string {
  return displayPath(fixture(file));
}
