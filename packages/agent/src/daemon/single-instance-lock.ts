// One daemon per FLEET_HOME, even when two CLIs race to start it. The lock is
// an abstract unix socket (Linux): the kernel releases it when the holder dies,
// kill -9 included, so there is no stale lock file to clean up.
import { createHash } from 'node:crypto';
import * as net from 'node:net';

export function lockName(home: string): string {
  return `\0fleet-daemon-${createHash('sha256').update(home).digest('hex').slice(0, 24)}`;
}

/** Resolves with a release function, or with null when another daemon holds the lock. */
export function acquireLock(home: string): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(null);
      else reject(err);
    });
    server.listen(lockName(home), () => {
      server.unref();
      resolve(() => server.close());
    });
  });
}
