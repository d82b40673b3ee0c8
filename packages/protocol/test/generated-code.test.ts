// The generated code is committed; this fails when proto/ changed without `npm run proto`.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../../..');

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

test('generated protocol code matches proto/ (run `npm run proto` if this fails)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-proto-'));
  try {
    const template = fs.readFileSync(path.join(root, 'buf.gen.yaml'), 'utf8')
      .replace('out: packages/protocol/src/gen', `out: ${out}`);
    const templatePath = path.join(out, 'buf.gen.yaml');
    fs.writeFileSync(templatePath, template);
    execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate', '--template', templatePath], {
      cwd: root,
      stdio: 'pipe',
    });
    const committed = path.join(root, 'packages/protocol/src/gen');
    const fresh = listFiles(out).filter((f) => f.endsWith('.ts')).sort();
    assert.deepEqual(fresh, listFiles(committed).sort(), 'generated file set differs');
    for (const file of fresh) {
      assert.equal(
        fs.readFileSync(path.join(out, file), 'utf8'),
        fs.readFileSync(path.join(committed, file), 'utf8'),
        `${file} is stale: run \`npm run proto\` and commit the result`,
      );
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
