// If a runner dies hard (kill -9, OOM), Node instances exit with their IPC
// channel, but other programs (own process groups, by design) live on as
// orphans, holding their ports. Each runner records its instances' process
// groups; the next runner of the app kills what is left before starting.
import * as fs from 'node:fs';

/** Writes the current instance pids (each leads its own process group). */
export function recordGroups(file: string, pids: number[]): void {
  try {
    fs.writeFileSync(file, JSON.stringify(pids));
  } catch {
    // best effort: a missing record only means a possible orphan after a crash
  }
}

/**
 * Kills the groups a previous runner of `app` left, checking each pid still
 * belongs to that app (FLEET_APP_NAME in its environment) so a reused pid is
 * never touched. Returns the pids killed.
 */
export function reapOrphans(file: string, app: string): number[] {
  let pids: number[];
  try {
    pids = JSON.parse(fs.readFileSync(file, 'utf8')) as number[];
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 1 || !belongsTo(pid, app)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone already
      }
    }
  }
  fs.rmSync(file, { force: true });
  return killed;
}

function belongsTo(pid: number, app: string): boolean {
  try {
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`FLEET_APP_NAME=${app}`);
  } catch {
    return false;
  }
}
