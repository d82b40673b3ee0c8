// The commit a release was built from, recorded with the release so `fleet
// releases` can say what is running. Best effort: a folder that is not a git
// work tree, or a machine without git, deploys all the same.
import { execFileSync } from 'node:child_process';

export interface GitInfo {
  /** Full hash of HEAD; '' when unknown. */
  commit: string;
  /** Uncommitted or untracked changes in the app folder: the artifact is not exactly `commit`. */
  dirty: boolean;
}

export function gitInfo(dir: string): GitInfo {
  try {
    const commit = git(dir, ['rev-parse', 'HEAD']).trim();
    // `-- .`: only the app folder; a change elsewhere in a monorepo is not in the artifact.
    const dirty = git(dir, ['status', '--porcelain', '--', '.']).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: '', dirty: false };
  }
}

function git(dir: string, args: string[]): string {
  // stderr ignored: "not a git repository" is an answer here, not noise for the user.
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
}
