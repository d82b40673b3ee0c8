// Time- and event-driven recycling of an app, all running inside the runner so
// they keep working while no agent is connected:
//  - max_memory_restart: RSS sampled every memory_check_interval (pidusage, one batched call),
//  - cron_restart: a zero-downtime restart at each cron time (a stopped app stays stopped),
//  - watch: a file change reloads the app (debounced), never a hard restart.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppRunner } from './app-runner';
import { memoryExceeded } from './restart-policy';

export class AppWatchers {
  private memoryTimer?: NodeJS.Timeout;
  private cronTimer?: NodeJS.Timeout;
  private watchers: fs.FSWatcher[] = [];
  private debounce?: NodeJS.Timeout;

  constructor(
    private readonly runner: AppRunner,
    private readonly log: (msg: string) => void,
  ) {}

  /** (Re)arms everything from the runner's current spec. */
  arm(): void {
    this.disarm();
    const spec = this.runner.spec;
    const restart = spec.restart!;
    if (restart.maxMemoryBytes > 0) {
      this.memoryTimer = setInterval(() => void this.checkMemory(), Math.max(250, restart.memoryCheckIntervalMs));
      this.memoryTimer.unref();
    }
    if (restart.cronRestart) {
      // Loaded only for apps with a cron: cron-parser (and luxon) cost ~2 MB per runner.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { nextCronDelayMs } = require('./cron-schedule') as typeof import('./cron-schedule');
      this.scheduleCron(restart.cronRestart, nextCronDelayMs);
    }
    if (spec.watch?.enabled) this.startWatching();
  }

  disarm(): void {
    clearInterval(this.memoryTimer);
    clearTimeout(this.cronTimer);
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private async checkMemory(): Promise<void> {
    const pids = this.runner.pids();
    if (pids.length === 0) return;
    // Loaded on first use: an app without a memory limit does not pay for it.
    const pidusage = (await import('pidusage')).default;
    let stats: Record<string, { memory: number }>;
    try {
      stats = await pidusage(pids.map((p) => p.pid));
    } catch {
      return; // a process exited between listing and sampling; next round
    }
    const policy = this.runner.spec.restart!;
    for (const { index, pid } of pids) {
      const rss = stats[pid]?.memory ?? 0;
      if (memoryExceeded(policy, rss)) {
        this.log(`instance ${index} (pid ${pid}) uses ${rss} bytes > max_memory_restart ${policy.maxMemoryBytes}: restarting`);
        await this.runner.recycle(index, 'max_memory_restart');
      }
    }
  }

  private scheduleCron(expr: string, nextCronDelayMs: (expr: string, now: number) => number): void {
    const delay = nextCronDelayMs(expr, Date.now());
    // setTimeout caps at ~24.8 days; re-plan rather than overflow.
    this.cronTimer = setTimeout(() => {
      if (this.runner.desired === 'online') {
        this.log(`cron_restart (${expr})`);
        this.runner.reload('cron_restart').catch((err: Error) => this.log(`cron_restart: ${err.message}`));
      }
      this.scheduleCron(expr, nextCronDelayMs);
    }, Math.min(delay, 2 ** 31 - 1));
    this.cronTimer.unref();
  }

  private startWatching(): void {
    const spec = this.runner.spec;
    const watch = spec.watch!;
    const roots = watch.paths.length ? watch.paths.map((p) => path.resolve(spec.cwd, p)) : [spec.cwd];
    const ignored = ignoreMatcher(['node_modules', '.git', ...watch.ignore]);
    for (const root of roots) {
      try {
        const w = fs.watch(root, { recursive: true }, (_event, file) => {
          const rel = file ? String(file) : '';
          if (rel && ignored(rel)) return;
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => {
            if (this.runner.desired !== 'online') return;
            this.log(`change in ${rel || root}: reloading`);
            this.runner.reload('watch').catch((err: Error) => this.log(`watch reload: ${err.message}`));
          }, watch.debounceMs);
        });
        w.on('error', (err) => this.log(`watch ${root}: ${err.message}`));
        this.watchers.push(w);
      } catch (err) {
        this.log(`cannot watch ${root}: ${(err as Error).message}`);
      }
    }
  }
}

/** PM2's ignore_watch: plain names match any path segment; `*` and `**` are globs. */
export function ignoreMatcher(patterns: string[]): (relPath: string) => boolean {
  const tests = patterns.map((pattern) => {
    if (!/[*?]/.test(pattern)) {
      const clean = pattern.replace(/^\.\//, '').replace(/\/$/, '');
      return (rel: string) => rel === clean || rel.startsWith(clean + '/') || rel.split('/').includes(clean);
    }
    const re = new RegExp(
      '^' +
        pattern
          .replace(/^\.\//, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\/?/g, '\u0000')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')
          .replace(/\u0000/g, '(?:.*/)?') +
        '$',
    );
    return (rel: string) => re.test(rel) || re.test(path.basename(rel));
  });
  return (rel) => tests.some((t) => t(rel.split(path.sep).join('/')));
}
