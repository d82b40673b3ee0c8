// The commit a release records, and whether the app folder differs from it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { gitInfo } from '../src/release/git-info';

function hasGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('dirty means a change in the app folder, not anywhere in the repository', { skip: !hasGit() && 'no git here' }, (t) => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-git-'));
  t.after(() => fs.rmSync(repo, { recursive: true, force: true }));
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' });
  const app = path.join(repo, 'apps', 'api');
  fs.mkdirSync(app, { recursive: true });
  fs.mkdirSync(path.join(repo, 'apps', 'web'));
  fs.writeFileSync(path.join(app, 'server.js'), 'v1\n');
  fs.writeFileSync(path.join(repo, 'apps', 'web', 'index.js'), 'v1\n');
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'one');
  const head = git('rev-parse', 'HEAD').trim();

  assert.deepEqual(gitInfo(app), { commit: head, dirty: false });
  fs.writeFileSync(path.join(repo, 'apps', 'web', 'index.js'), 'v2\n');
  fs.writeFileSync(path.join(repo, 'notes.txt'), 'untracked, outside the app\n');
  assert.deepEqual(gitInfo(app), { commit: head, dirty: false }, 'changes beside the app are not in its artifact');
  fs.writeFileSync(path.join(app, 'new.js'), 'untracked in the app\n');
  assert.equal(gitInfo(app).dirty, true);

  const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-nogit-'));
  t.after(() => fs.rmSync(plain, { recursive: true, force: true }));
  assert.deepEqual(gitInfo(plain), { commit: '', dirty: false }, 'not a work tree: deploys all the same');
});
