// What the controller keeps on disk (--data): hosts and their last reported
// apps, so a restarted controller shows the whole fleet at once and agents
// only have to confirm it. Writes are atomic and coalesced: a host joining or
// leaving is written within half a second; app reports (which change with
// every CPU sample, across the whole fleet) at most every ten seconds — the
// agents resend them on reconnect anyway.
import * as path from 'node:path';
import { AppInfo, BadInputError, HostInfo, readJsonFile, writeFileAtomic } from '@fleet/protocol';
import type { PersistedHost } from './host-registry';

interface StoreFile {
  version: 1;
  hosts: { info: unknown; apps: unknown[] }[];
}

export class ControllerStore {
  readonly file: string;
  private timer?: NodeJS.Timeout;

  private dueAt = Infinity;

  constructor(
    dataDir: string,
    private readonly source: () => PersistedHost[],
    private readonly hostDelayMs = 500,
    private readonly appsDelayMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    this.file = path.join(dataDir, 'state.json');
  }

  load(): PersistedHost[] {
    let raw: StoreFile | undefined;
    try {
      raw = readJsonFile<StoreFile>(this.file);
    } catch (err) {
      throw new BadInputError(`cannot read ${this.file}: ${(err as Error).message}`, {
        hint: 'move the damaged file aside; hosts re-register and resend their state when they reconnect',
      });
    }
    if (!raw) return [];
    if (raw.version !== 1) {
      throw new BadInputError(`${this.file} has version ${String(raw.version)}, this controller reads version 1`, {
        hint: 'run the fleet version that wrote it, or move the file aside',
      });
    }
    return raw.hosts.map((h) => ({ info: HostInfo.fromJSON(h.info), apps: h.apps.map((a) => AppInfo.fromJSON(a)) }));
  }

  /** Something changed: write soon (a host) or in a while (apps), once. */
  changed(kind: 'host' | 'apps'): void {
    const due = this.now() + (kind === 'host' ? this.hostDelayMs : this.appsDelayMs);
    if (due >= this.dueAt) return;
    clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => this.flush(), due - this.now());
    this.timer.unref();
  }

  /** Writes now. A failed write (disk full, permissions) is logged and retried; it never stops the controller. */
  flush(): void {
    try {
      this.write();
    } catch (err) {
      this.log(`cannot write ${this.file}: ${(err as Error).message}; retrying in 5 s (hosts and apps are still served from memory)`);
      this.timer = setTimeout(() => this.flush(), 5_000);
      this.timer.unref();
      this.dueAt = this.now() + 5_000;
    }
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    const file: StoreFile = {
      version: 1,
      hosts: this.source().map((h) => ({ info: HostInfo.toJSON(h.info), apps: h.apps.map((a) => AppInfo.toJSON(a)) })),
    };
    writeFileAtomic(this.file, JSON.stringify(file));
  }
}
