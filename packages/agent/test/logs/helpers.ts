// Shared by the log tests: temp folders that clean up and condition waits (no fixed sleeps).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after } from 'node:test';

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-logs-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every rotated and current file of `file`, oldest first, gunzipped, concatenated. */
export function readAllGenerations(file: string): { text: string; files: string[] } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const gens = fs
    .readdirSync(dir)
    .map((n) => /^(\d+)(\.gz)?$/.exec(n.startsWith(`${base}.`) ? n.slice(base.length + 1) : '') && n)
    .filter((n): n is string => typeof n === 'string')
    .sort((a, b) => gen(b, base) - gen(a, base));
  const files = [...gens.map((n) => path.join(dir, n)), ...(fs.existsSync(file) ? [file] : [])];
  const text = files
    .map((f) => (f.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(f)) : fs.readFileSync(f)).toString('utf8'))
    .join('');
  return { text, files };
}

function gen(name: string, base: string): number {
  return Number.parseInt(name.slice(base.length + 1), 10);
}
