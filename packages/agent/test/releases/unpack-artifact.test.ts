import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import * as tar from 'tar';
import { BadInputError, type FleetError } from '@fleet/protocol';
import { sha256File, unpackArtifact } from '../../src/releases/unpack-artifact';

function tempDir(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-unpack-')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO' | 'CharacterDevice';
  linkpath?: string;
  body?: string;
  mode?: number;
}

/**
 * A .tar.gz written header by header, so an entry can say anything (`../x`,
 * `/etc/x`, a fifo) without tar's writer cleaning it up on the way.
 */
function rawArtifact(file: string, entries: RawEntry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const header = new tar.Header({
      path: e.path,
      type,
      linkpath: e.linkpath,
      size: type === 'File' ? body.length : 0,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date('2000-01-01T00:00:00Z'),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(blocks)));
  return file;
}

async function listPaths(file: string): Promise<string[]> {
  const out: string[] = [];
  await tar.t({ file, onReadEntry: (e) => void out.push(e.path) });
  return out;
}

/** Every path under `root` with what it is: file content, link target, or folder. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = fs.readFileSync(abs, 'utf8');
    }
  };
  walk('');
  return out;
}

/** The release folder and any staging folder beside it. */
function leftovers(destDir: string): string[] {
  const base = path.basename(destDir);
  return fs.readdirSync(path.dirname(destDir)).filter((n) => n === base || n.startsWith(`${base}.`));
}

/** Asserts a BadInputError naming `entry`, and that nothing was written. */
async function assertRefused(file: string, destDir: string, entry: RegExp): Promise<void> {
  await assert.rejects(unpackArtifact(file, destDir), (err: unknown) => {
    assert.ok(err instanceof BadInputError, `expected BadInputError, got ${String(err)}`);
    assert.match(err.message, entry);
    assert.match(err.hint ?? '', /nothing was written/);
    return true;
  });
  assert.deepEqual(leftovers(destDir), [], 'no release folder and no staging folder');
}

describe('unpackArtifact', () => {
  it('round-trips a folder packed by tar: contents, nested folders, symlinks inside', async () => {
    const work = tempDir();
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'lib/util'), { recursive: true });
    fs.mkdirSync(path.join(src, 'empty'));
    fs.writeFileSync(path.join(src, 'package.json'), '{"name":"app"}');
    fs.writeFileSync(path.join(src, 'lib/index.js'), 'module.exports = 1;');
    fs.writeFileSync(path.join(src, 'lib/util/x.js'), 'x'.repeat(5000));
    fs.symlinkSync('lib', path.join(src, 'current'));
    fs.symlinkSync('../index.js', path.join(src, 'lib/util/up.js'));
    const file = path.join(work, 'a.tar.gz');
    await tar.c({ file, cwd: src, gzip: true, portable: true }, fs.readdirSync(src));

    const dest = path.join(work, 'releases', 'app', 'r1');
    const result = await unpackArtifact(file, dest);
    assert.deepEqual(snapshot(dest), snapshot(src));
    assert.equal(snapshot(dest)['current'], '-> lib');
    assert.deepEqual(result, { files: 3, bytes: 14 + 19 + 5000 });
    assert.deepEqual(leftovers(dest), ['r1'], 'staging folder renamed away');
  });

  it('refuses a `..` entry before writing anything, even the valid entries before it', async () => {
    const work = tempDir();
    // Made by tar itself: preservePaths keeps the `..` that it would otherwise drop.
    const inner = path.join(work, 'pack', 'inner');
    fs.mkdirSync(inner, { recursive: true });
    fs.writeFileSync(path.join(inner, 'ok.js'), 'fine');
    fs.writeFileSync(path.join(work, 'pack', 'evil.txt'), 'owned');
    const file = path.join(work, 'evil.tar.gz');
    await tar.c({ file, cwd: inner, gzip: true, preservePaths: true }, ['ok.js', '../evil.txt']);
    assert.deepEqual(await listPaths(file), ['ok.js', '../evil.txt'], 'the crafted archive really holds `..`');

    const dest = path.join(work, 'out', 'releases', 'r1');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    await assertRefused(file, dest, /escapes the release folder: "\.\.\/evil\.txt"/);
    assert.equal(fs.existsSync(path.join(work, 'out', 'releases', 'evil.txt')), false);

    const deeper = rawArtifact(path.join(work, 'deeper.tar.gz'), [
      { path: 'ok.js', body: 'fine' },
      { path: 'a/../../../escaped.txt', body: 'owned' },
    ]);
    await assertRefused(deeper, dest, /"a\/\.\.\/\.\.\/\.\.\/escaped\.txt"/);
    assert.equal(fs.existsSync(path.join(work, 'out', 'escaped.txt')), false);
    assert.equal(fs.existsSync(path.join(work, 'escaped.txt')), false);
  });

  it('refuses an absolute entry (tar alone would strip the / and write it inside)', async () => {
    const work = tempDir();
    const target = path.join(work, 'abs-evil.txt');
    const file = rawArtifact(path.join(work, 'abs.tar.gz'), [{ path: 'ok.js', body: 'x' }, { path: target, body: 'owned' }]);
    assert.deepEqual(await listPaths(file), ['ok.js', target]);
    const dest = path.join(work, 'r1');
    await assertRefused(file, dest, /escapes the release folder: "\/.*abs-evil\.txt"/);
    assert.equal(fs.existsSync(target), false);
  });

  it('refuses symlinks that lead outside: relative, absolute, through other links, and entries beneath a link', async () => {
    const work = tempDir();
    const dest = path.join(work, 'r1');
    const cases: Array<[string, RawEntry[], RegExp]> = [
      ['relative', [{ path: 'lib/', type: 'Directory' }, { path: 'lib/link', type: 'SymbolicLink', linkpath: '../../etc' }], /"lib\/link" -> "\.\.\/\.\.\/etc"/],
      ['absolute', [{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /"passwd" -> "\/etc\/passwd"/],
      [
        'chained',
        [
          { path: 'a/', type: 'Directory' },
          { path: 'a/s', type: 'SymbolicLink', linkpath: '..' },
          { path: 'b', type: 'SymbolicLink', linkpath: 'a/s/..' },
        ],
        /"b" -> "a\/s\/\.\."/,
      ],
      ['beneath', [{ path: 'lnk', type: 'SymbolicLink', linkpath: 'sub' }, { path: 'lnk/x.js', body: 'x' }], /beneath a symlink: "lnk\/x\.js"/],
      ['hard link', [{ path: 'ok.js', body: 'x' }, { path: 'hard', type: 'Link', linkpath: '../outside' }], /"hard" -> "\.\.\/outside"/],
    ];
    for (const [name, entries, message] of cases) {
      const file = rawArtifact(path.join(work, `${name}.tar.gz`), entries);
      await assertRefused(file, dest, message);
    }
    assert.equal(fs.existsSync(path.join(work, 'outside')), false);
  });

  it('refuses fifos and devices', async () => {
    const work = tempDir();
    const dest = path.join(work, 'r1');
    for (const type of ['FIFO', 'CharacterDevice'] as const) {
      const file = rawArtifact(path.join(work, `${type}.tar.gz`), [{ path: 'ok.js', body: 'x' }, { path: 'dev', type }]);
      await assertRefused(file, dest, new RegExp(`type ${type}.*"dev"`));
    }
  });

  it('refuses garbage, a damaged gzip and a truncated archive with a BadInputError', async () => {
    const work = tempDir();
    const dest = path.join(work, 'r1');
    const garbage = path.join(work, 'garbage.tar.gz');
    fs.writeFileSync(garbage, Buffer.from('this is not an artifact at all, just some text'.repeat(40)));
    await assertRefused(garbage, dest, /not a gzip file/);

    const good = rawArtifact(path.join(work, 'good.tar.gz'), [{ path: 'a.js', body: 'a'.repeat(3000) }]);
    const bytes = fs.readFileSync(good);
    const damaged = path.join(work, 'damaged.tar.gz');
    fs.writeFileSync(damaged, Buffer.concat([bytes.subarray(0, 12), Buffer.alloc(bytes.length - 12, 0xab)]));
    await assertRefused(damaged, dest, /damaged/);

    const truncated = path.join(work, 'truncated.tar.gz');
    fs.writeFileSync(truncated, zlib.gzipSync(zlib.gunzipSync(bytes).subarray(0, 1024)));
    await assertRefused(truncated, dest, /damaged/);
  });

  it('enforces maxEntries and maxUnpackedBytes before writing', async () => {
    const work = tempDir();
    const dest = path.join(work, 'r1');
    const file = rawArtifact(path.join(work, 'a.tar.gz'), [
      { path: 'a.js', body: 'a'.repeat(600) },
      { path: 'b.js', body: 'b'.repeat(600) },
      { path: 'c.js', body: 'c' },
    ]);
    await assert.rejects(unpackArtifact(file, dest, { maxEntries: 2 }), /more than 2 entries/);
    await assert.rejects(unpackArtifact(file, dest, { maxUnpackedBytes: 1000 }), /more than 1000 bytes/);
    assert.deepEqual(leftovers(dest), []);
    assert.deepEqual(await unpackArtifact(file, dest, { maxEntries: 3, maxUnpackedBytes: 1201 }), { files: 3, bytes: 1201 });
  });

  it('drops setuid, setgid and sticky bits', async () => {
    const work = tempDir();
    const file = rawArtifact(path.join(work, 'a.tar.gz'), [{ path: 'tool', body: '#!/bin/sh\n', mode: 0o6755 }]);
    const dest = path.join(work, 'r1');
    await unpackArtifact(file, dest);
    assert.equal(fs.statSync(path.join(dest, 'tool')).mode & 0o7000, 0);
    assert.equal(fs.statSync(path.join(dest, 'tool')).mode & 0o100, 0o100, 'still executable');
  });

  it('refuses an existing release folder with CONFLICT and leaves it alone', async () => {
    const work = tempDir();
    const file = rawArtifact(path.join(work, 'a.tar.gz'), [{ path: 'a.js', body: 'new' }]);
    const dest = path.join(work, 'r1');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'a.js'), 'old');
    await assert.rejects(unpackArtifact(file, dest), (err: unknown) => {
      assert.equal((err as FleetError).code, 'CONFLICT');
      assert.match((err as Error).message, /already exists/);
      return true;
    });
    assert.equal(fs.readFileSync(path.join(dest, 'a.js'), 'utf8'), 'old');
    assert.deepEqual(leftovers(dest), ['r1']);
  });
});

describe('sha256File', () => {
  it('matches crypto over the bytes', async () => {
    const file = path.join(tempDir(), 'blob');
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    fs.writeFileSync(file, bytes);
    assert.equal(await sha256File(file), createHash('sha256').update(bytes).digest('hex'));
  });
});
