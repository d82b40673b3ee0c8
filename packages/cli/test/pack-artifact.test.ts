import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as tar from 'tar';
import { BadInputError } from '@fleet/protocol';
import { packArtifact } from '../src/release/pack-artifact';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-pack-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Tree = Record<string, string | { symlink: string }>;

/** Writes `tree` (relative path -> content, or a symlink) under a new temp folder. */
function makeTree(tree: Tree, root = path.join(tempDir(), 'app')): string {
  for (const [rel, value] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (typeof value === 'string') fs.writeFileSync(abs, value);
    else fs.symlinkSync(value.symlink, abs);
  }
  return root;
}

async function listArchive(file: string): Promise<Array<{ path: string; type: string; linkpath?: string; mtime?: Date; uid?: number }>> {
  const out: Array<{ path: string; type: string; linkpath?: string; mtime?: Date; uid?: number }> = [];
  await tar.t({ file, onReadEntry: (e) => void out.push({ path: e.path, type: e.type, linkpath: e.linkpath, mtime: e.mtime, uid: e.uid }) });
  return out;
}

const outFile = (): string => path.join(tempDir(), 'release.tar.gz');

describe('packArtifact', () => {
  it('honours .gitignore (globs, negation, folder patterns) and always leaves out .git and node_modules', async () => {
    const dir = makeTree({
      '.gitignore': '*.log\n!keep.log\nbuild/\n/secret.txt\n',
      'src/index.js': 'main',
      'src/debug.log': 'x',
      'keep.log': 'kept',
      'app.log': 'x',
      'build/out.js': 'x',
      'src/build/deep.js': 'x',
      'secret.txt': 'x',
      'src/secret.txt': 'not the root one',
      '.git/HEAD': 'ref: refs/heads/main',
      'node_modules/dep/index.js': 'x',
      'src/node_modules/nested/index.js': 'x',
      'package.json': '{}',
    });
    const packed = await packArtifact(dir, { outFile: outFile() });
    assert.deepEqual(packed.files, ['.gitignore', 'keep.log', 'package.json', 'src/index.js', 'src/secret.txt']);
    assert.equal(packed.ignoreFile, '.gitignore');
    const entries = await listArchive(packed.file);
    assert.deepEqual(
      entries.map((e) => e.path),
      ['.gitignore', 'keep.log', 'package.json', 'src/', 'src/index.js', 'src/secret.txt'],
      'relative, sorted, folders included, nothing ignored',
    );
  });

  it('uses .fleetignore instead of .gitignore when both exist', async () => {
    const dir = makeTree({
      '.gitignore': 'dist/\n',
      '.fleetignore': 'test/\n*.md\n',
      'dist/server.js': 'built',
      'test/a.test.js': 'x',
      'README.md': 'x',
      'package.json': '{}',
    });
    const packed = await packArtifact(dir, { outFile: outFile() });
    assert.deepEqual(packed.files, ['.fleetignore', '.gitignore', 'dist/server.js', 'package.json']);
    assert.equal(packed.ignoreFile, '.fleetignore', 'the deploy names the file whose rules applied');
  });

  it('packs node_modules only when asked, and .fleetignore still applies to it', async () => {
    const tree: Tree = {
      '.fleetignore': 'node_modules/heavy/\n',
      'index.js': 'x',
      'node_modules/dep/index.js': 'dep',
      'node_modules/heavy/blob.bin': 'x',
    };
    const without = await packArtifact(makeTree(tree), { outFile: outFile() });
    assert.deepEqual(without.files, ['.fleetignore', 'index.js']);
    const withDeps = await packArtifact(makeTree(tree), { outFile: outFile(), includeNodeModules: true });
    assert.deepEqual(withDeps.files, ['.fleetignore', 'index.js', 'node_modules/dep/index.js']);
  });

  it('gives the same bytes for the same tree: other location, other mtimes, packed twice', async () => {
    const tree: Tree = {
      'package.json': '{"name":"a"}',
      'src/a.js': 'a',
      'src/b/c.js': 'c',
      ['deep/'.repeat(30) + 'long-name.js']: 'a path longer than 100 characters needs a pax or ustar-prefix header',
      'link.js': { symlink: 'src/a.js' },
    };
    const a = makeTree(tree);
    const b = makeTree(tree);
    fs.utimesSync(path.join(b, 'src/a.js'), new Date('2020-05-05'), new Date('2020-05-05'));
    const first = await packArtifact(a, { outFile: outFile() });
    const again = await packArtifact(a, { outFile: outFile() });
    const other = await packArtifact(b, { outFile: outFile() });
    assert.match(first.digest, /^[0-9a-f]{64}$/);
    assert.equal(again.digest, first.digest);
    assert.equal(other.digest, first.digest);
    assert.equal(first.digest, createHash('sha256').update(fs.readFileSync(first.file)).digest('hex'));
    assert.equal(first.sizeBytes, fs.statSync(first.file).size);
    const entries = await listArchive(first.file);
    assert.ok(entries.every((e) => e.uid === undefined), 'no owner recorded');
    assert.ok(entries.filter((e) => e.type === 'File').every((e) => e.mtime?.toISOString() === '2000-01-01T00:00:00.000Z'));

    fs.writeFileSync(path.join(a, 'src/a.js'), 'changed');
    const changed = await packArtifact(a, { outFile: outFile() });
    assert.notEqual(changed.digest, first.digest, 'content is part of the digest');
  });

  it('packs symlinks as symlinks, skips sockets, and leaves the artifact out of itself', async () => {
    const dir = makeTree({ 'lib/real.js': 'x', 'current': { symlink: 'lib' }, 'entry.js': { symlink: 'lib/real.js' } });
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'daemon.sock'), resolve));
    after(() => server.close());
    const inside = path.join(dir, 'release.tar.gz');
    fs.writeFileSync(inside, 'an old artifact');

    const packed = await packArtifact(dir, { outFile: inside });
    assert.deepEqual(packed.files, ['lib/real.js']);
    const entries = await listArchive(packed.file);
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.linkpath ?? '']),
      [
        ['current', 'SymbolicLink', 'lib'],
        ['entry.js', 'SymbolicLink', 'lib/real.js'],
        ['lib/', 'Directory', ''],
        ['lib/real.js', 'File', ''],
      ],
    );
  });

  it('refuses a symlink that points outside the folder, naming it', async () => {
    const dir = makeTree({ 'index.js': 'x', 'config': { symlink: '../../etc' } });
    await assert.rejects(packArtifact(dir, { outFile: outFile() }), (err: unknown) => {
      assert.ok(err instanceof BadInputError);
      assert.match(err.message, /"config" -> "\.\.\/\.\.\/etc"/);
      return true;
    });
    const absolute = makeTree({ 'index.js': 'x', 'passwd': { symlink: '/etc/passwd' } });
    await assert.rejects(packArtifact(absolute, { outFile: outFile() }), BadInputError);
  });

  it('refuses a missing folder, a file, and a folder where everything is ignored', async () => {
    const missing = path.join(tempDir(), 'nope');
    await assert.rejects(packArtifact(missing, { outFile: outFile() }), (err: unknown) => {
      assert.ok(err instanceof BadInputError);
      assert.match(err.message, /does not exist/);
      return true;
    });
    const file = path.join(makeTree({ 'a.js': 'x' }), 'a.js');
    await assert.rejects(packArtifact(file, { outFile: outFile() }), /not a folder/);
    const empty = makeTree({ '.fleetignore': '*\n' });
    await assert.rejects(packArtifact(empty, { outFile: outFile() }), /nothing to pack/);
  });
});
