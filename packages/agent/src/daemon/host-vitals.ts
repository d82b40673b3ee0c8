// What a heartbeat says of the host: load, free memory, and the filesystem of
// FLEET_HOME (logs and releases are what fill a disk).
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Heartbeat } from '@fleet/protocol';

export function hostVitals(home: string, now = Date.now()): Heartbeat {
  let diskFreeBytes = 0;
  let diskTotalBytes = 0;
  try {
    const s = fs.statfsSync(home);
    diskFreeBytes = s.bavail * s.bsize;
    diskTotalBytes = s.blocks * s.bsize;
  } catch {
    // an unreadable filesystem reports 0: "unknown", not "full"
  }
  return { timeMs: now, load1: os.loadavg()[0], memoryFreeBytes: os.freemem(), diskFreeBytes, diskTotalBytes };
}
