import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ArtifactStore } from '../../src/deploy/artifact-store';

async function* chunks(...parts: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function store(max?: number): ArtifactStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-artifacts-'));
  made.push(dir);
  return new ArtifactStore(dir, max);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('an upload is stored under its digest, and found again', async () => {
  const s = store();
  const body = Buffer.from('artifact bytes');
  await s.receive(sha(body), body.length, chunks(body.subarray(0, 4), body.subarray(4)));
  assert.ok(s.has(sha(body)));
  assert.deepEqual(fs.readFileSync(s.fileOf(sha(body))), body);
});

test('a digest mismatch, a short or a long upload leave nothing behind', async () => {
  const s = store();
  const body = Buffer.from('artifact bytes');
  const wrong = sha(Buffer.from('other'));
  await assert.rejects(s.receive(wrong, body.length, chunks(body)), /sha256/);
  await assert.rejects(s.receive(sha(body), body.length + 5, chunks(body)), /ended after/);
  await assert.rejects(s.receive(sha(body), 3, chunks(body)), /larger than/);
  assert.deepEqual(fs.readdirSync(s.dir), []);
});

test('the size limit is checked before any byte is taken', async () => {
  const s = store(10);
  const body = Buffer.alloc(11);
  await assert.rejects(s.receive(sha(body), 11, chunks(body)), /over the controller's limit[\s\S]*/);
  assert.throws(() => s.checkSize(11), (err: Error & { hint?: string }) => /max-artifact-size/.test(err.hint ?? ''));
});

test('an upload a crashed controller left half-written is swept at the next start', () => {
  const s = store();
  fs.writeFileSync(path.join(s.dir, '.upload-abc'), 'partial');
  const again = new ArtifactStore(path.dirname(s.dir));
  assert.deepEqual(fs.readdirSync(again.dir), []);
});

test('prune keeps only the digests asked for', async () => {
  const s = store();
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  await s.receive(sha(a), 1, chunks(a));
  await s.receive(sha(b), 1, chunks(b));
  assert.equal(s.prune(new Set([sha(b)])), 1);
  assert.equal(s.has(sha(a)), false);
  assert.equal(s.has(sha(b)), true);
});

test('a digest that is not sha256 hex is refused (no path tricks)', async () => {
  const s = store();
  await assert.rejects(s.receive('../../etc/passwd', 1, chunks(Buffer.from('x'))), /not a sha256 digest/);
  assert.equal(s.has('../x'), false);
  assert.throws(() => s.fileOf('a'.repeat(64)), /not on the controller/);
});
