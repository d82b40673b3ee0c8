// `--nats-logs-retention 24h`: a JetStream stream over fleet.<cluster>.logs.>
// keeps every batch for that long (file storage), readable with any NATS tool
// (`nats stream view FLEET_<cluster>_LOGS`) or a consumer of one's own. Created
// on the first start, its max age updated on later ones; any controller may
// do it, the same answer results. Agents' Nats-Msg-Id headers let the stream
// drop a batch sent twice.
import { type NatsSubjects } from '@fleet/protocol';
import { DiscardPolicy, nanos, type NatsConnection, RetentionPolicy, StorageType } from 'nats';

/** The log stream's size cap (the oldest messages go first past it). */
export const MAX_STREAM_BYTES = 4 * 1024 ** 3;

/** The stream's name for a fleet: FLEET_<cluster>_LOGS. */
export function logStreamName(cluster: string): string {
  return `FLEET_${cluster}_LOGS`;
}

/** Creates or updates the stream; the returned text says which, for the log. */
export async function ensureLogStream(nc: NatsConnection, subjects: NatsSubjects, maxAgeMs: number): Promise<string> {
  const jsm = await nc.jetstreamManager({ timeout: 5_000 });
  const name = logStreamName(subjects.cluster);
  const maxAge = nanos(maxAgeMs);
  for (let attempt = 0; ; attempt++) {
    let exists = true;
    try {
      const info = await jsm.streams.info(name);
      if (info.config.max_age === maxAge) return `log stream ${name} keeps ${subjects.all('logs')} for ${maxAgeMs / 1000} s`;
      await jsm.streams.update(name, { ...info.config, max_age: maxAge, max_bytes: MAX_STREAM_BYTES, discard: DiscardPolicy.Old });
      return `log stream ${name}: retention now ${maxAgeMs / 1000} s`;
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
      exists = false;
    }
    if (!exists) {
      try {
        await jsm.streams.add({
          name,
          subjects: [subjects.all('logs')],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          max_age: maxAge,
          // Age alone lets a crash-looping app fill the NATS server's disk: a size cap drops the oldest first.
          max_bytes: MAX_STREAM_BYTES,
          discard: DiscardPolicy.Old,
          duplicate_window: nanos(Math.min(maxAgeMs, 2 * 60_000)),
        });
        return `log stream ${name} created: keeps ${subjects.all('logs')} for ${maxAgeMs / 1000} s`;
      } catch (err) {
        // Another controller created it meanwhile: update it instead.
        if (attempt > 0 || !/already in use|exists/i.test((err as Error).message)) throw err;
      }
    }
  }
}
