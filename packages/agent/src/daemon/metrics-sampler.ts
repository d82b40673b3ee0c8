// CPU and memory of every instance on the host, sampled with one batched
// pidusage call. `ls` reads the last sample; a sample older than the interval
// is refreshed on demand, so `ls` right after a start is never minutes stale.
import pidusage from 'pidusage';

export interface Usage {
  cpu: number;
  memory: number;
}

export class MetricsSampler {
  private last = new Map<number, Usage>();
  private sampledAt = 0;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;

  constructor(
    private readonly pids: () => number[],
    private readonly intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  usage(pid: number): Usage | undefined {
    return this.last.get(pid);
  }

  /** Samples now unless the last sample is fresher than `maxAgeMs`. */
  async refresh(maxAgeMs = this.intervalMs): Promise<void> {
    if (this.now() - this.sampledAt <= maxAgeMs) return;
    await this.sample();
  }

  sample(): Promise<void> {
    this.inFlight ??= this.doSample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async doSample(): Promise<void> {
    const pids = this.pids();
    const next = new Map<number, Usage>();
    if (pids.length > 0) {
      try {
        const stats = await pidusage(pids);
        for (const pid of pids) {
          const s = stats[pid];
          if (s) next.set(pid, { cpu: s.cpu, memory: s.memory });
        }
      } catch {
        // One pid vanished mid-call fails the batch; sample one by one instead.
        await Promise.all(
          pids.map(async (pid) => {
            try {
              const s = await pidusage(pid);
              next.set(pid, { cpu: s.cpu, memory: s.memory });
            } catch {
              // gone
            }
          }),
        );
      }
    }
    this.last = next;
    this.sampledAt = this.now();
  }
}
