// The controller's side of the NATS data plane (`fleet controller --nats URL`):
// one connection, this controller's share of the queue group (the intake),
// the feed `fleet logs` reads, and the optional JetStream log stream. Loaded
// only with --nats. The controller starts whether or not NATS is up; the
// connection is dialled and redialled in the background.
import { Deployment, type DeployStep, NATS_HEADERS, NatsSubjects, type NatsTarget } from '@fleet/protocol';
import { NatsSession } from '@fleet/protocol/nats';
import { headers } from 'nats';
import type { LogHub } from '../log-hub';
import { BatchDecoder } from './batch-decoder';
import { ensureLogStream } from './log-retention';
import { type LineStamps, NatsIntake, type NatsIntakeOptions, type NatsIntakeStats } from './nats-intake';
import { NatsLogFeed } from './nats-log-feed';

export interface NatsDataPlaneOptions {
  target: NatsTarget;
  hub: LogHub;
  log: (msg: string) => void;
  /** Shown in the server's connection list. */
  name: string;
  /** Keep the log subjects in a JetStream stream this long (`--nats-logs-retention`). */
  logsRetentionMs?: number;
  onEvent?: NatsIntakeOptions['onEvent'];
  onMetrics?: NatsIntakeOptions['onMetrics'];
}

export interface NatsDataPlane {
  feed: NatsLogFeed;
  /** Dials NATS (in the background: the controller does not wait for it). */
  start(): void;
  stats(): NatsIntakeStats;
  /**
   * A deployment's new steps (or new state) to fleet.<cluster>.deploys.<app>: the
   * Deployment with only `newSteps` in `steps`, header Fleet-Step their index.
   * Fire and forget: returns at once and never throws; while NATS is away the
   * message is dropped (counted, told once per outage).
   */
  publishDeployment(d: Deployment, newSteps: DeployStep[]): void;
  /** Connected to a NATS server now. */
  readonly connected: boolean;
  stop(): Promise<void>;
}

export function createNatsDataPlane(opts: NatsDataPlaneOptions): NatsDataPlane {
  const subjects = new NatsSubjects(opts.target.cluster);
  // Which agent message each window line came in: followers fill gaps by message, exactly.
  const stamps: LineStamps = new WeakMap();
  const decoder = new BatchDecoder(stamps);
  const feed = new NatsLogFeed(opts.hub, subjects, stamps, decoder, { log: opts.log });
  const intake = new NatsIntake({
    subjects,
    hub: opts.hub,
    stamps,
    decoder,
    log: opts.log,
    onEvent: opts.onEvent,
    onMetrics: opts.onMetrics,
    // A peer back after NATS was away may hold lines this controller's followers missed.
    onPeerOnline: () => feed.resync(),
  });
  // No echo: a controller's questions to its peers do not come back to itself.
  const session = new NatsSession({ target: opts.target, name: opts.name, log: opts.log, noEcho: true });
  const start = (): void =>
    session.start({
      ready: async (nc) => {
        intake.attach(nc);
        feed.attach(nc);
        opts.log(`taking ${subjects.prefix}.{logs,events,metrics} in queue group fleet-controllers`);
        if (!opts.logsRetentionMs) return;
        try {
          opts.log(await ensureLogStream(nc, subjects, opts.logsRetentionMs));
        } catch (err) {
          opts.log(
            `cannot keep logs in JetStream (--nats-logs-retention): ${(err as Error).message}; ` +
              'is JetStream enabled on the NATS server (nats-server -js)? Logs still flow, without retention',
          );
        }
      },
      up: () => {
        const nc = session.connection;
        if (nc) intake.announce(nc);
        feed.resync();
      },
    });
  let deploysDropped = 0;
  const publishDeployment = (d: Deployment, newSteps: DeployStep[]): void => {
    const nc = session.connection;
    try {
      if (!nc || !session.connected) throw new Error('not connected');
      const h = headers();
      h.set(NATS_HEADERS.step, String(d.steps.length - newSteps.length));
      nc.publish(subjects.deploys(d.app), Deployment.encode({ ...d, steps: newSteps }).finish(), { headers: h });
      if (deploysDropped > 0) opts.log(`deployment steps published on NATS again (${deploysDropped} message(s) dropped while it was away)`);
      deploysDropped = 0;
    } catch (err) {
      if (deploysDropped++ === 0) opts.log(`deployment steps not published on NATS (${(err as Error).message}): dropped until it is back; the deployment goes on`);
    }
  };
  return {
    feed,
    start,
    stats: () => ({ ...intake.stats }),
    publishDeployment,
    get connected() {
      return session.connected;
    },
    stop: async () => {
      intake.detach();
      feed.detach();
      await session.close();
    },
  };
}
