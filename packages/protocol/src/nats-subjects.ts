// The NATS data plane (optional: `--nats URL` on controllers and agents). gRPC
// stays the control plane — register, commands, state, artifacts — and NATS
// carries the volume: log lines, events and metric samples. Without --nats
// everything goes over gRPC alone.
//
// Subjects, under the prefix `fleet.<cluster>` (`--nats-cluster`, default
// `default`; one NATS can serve several fleets):
//
//   fleet.<cluster>.logs.<host>.<app>  LogBatch: lines of one app on one host.
//                                      Host and app are the subject's, whatever the lines say.
//   fleet.<cluster>.logs.<host>        LogBatch with no lines and `dropped` > 0: lines the agent
//                                      lost (its buffer overflowed while nobody took them).
//   fleet.<cluster>.events.<host>      AgentMessage with `snapshot` (first, after an agent starts)
//                                      or `delta` (StateDelta): instance status changes, restarts
//                                      (InstanceInfo.restarts, .events), releases (InstanceInfo.release).
//   fleet.<cluster>.metrics.<host>     AgentMessage with `heartbeat` (load, memory, disk of the
//                                      host) and `snapshot` (each instance's CPU, memory, event-loop
//                                      lag, heap, app metrics). Best effort: a lost sample is
//                                      replaced by the next one.
//   fleet.<cluster>.deploys.<app>      Deployment, published by the controller driving it at each
//                                      new step or state change: `steps` holds only the steps
//                                      new since its previous message (none: only the state
//                                      changed), header Fleet-Step the index of the first of them
//                                      in the whole list (a gap is visible). Best effort, not
//                                      acknowledged: nothing is kept while NATS is away (the
//                                      record is `fleet deploy status <id>`). Ends with the step
//                                      "deployment <state>" and ended_ms set.
//   fleet.<cluster>.ctl.taken          controllers among themselves: "did one of you take this
//                                      resent message?" (JSON {agent, seq}; answer "1" or "0").
//   fleet.<cluster>.ctl.recent         controllers among themselves: "the last lines of your log
//                                      windows matching this filter" (JSON; answer: JSON, lines by
//                                      the agent message they came in, so followers fill gaps exactly).
//   fleet.<cluster>.ctl.online         a controller (re)joined the queue group (empty): agents send
//                                      what waits for an answer at once instead of at its timeout.
//
// Host and app names are subject tokens: a character outside [A-Za-z0-9_-]
// (a dot in `web1.example.com`) is written %XX, byte by byte (`web1%2Eexample%2Ecom`).
//
// Logs and events are delivered at least once and taken exactly once. Each
// carries the headers Fleet-Agent (the agent process's instance id),
// Fleet-Seq (its message number, from 1; Nats-Msg-Id is both, so a JetStream
// stream over the subjects drops a resend) and Fleet-Floor (every number
// below it is acknowledged: never sent again), and a reply subject: the agent's
// ack inbox. The controllers consume in the queue group `fleet-controllers`
// (each message reaches one of them), keep what they take, and answer with
// an empty message carrying Fleet-Ack. The agent sends an unanswered message
// again, with Fleet-Resend: 1, after a reconnect or a timeout; the controller
// it reaches skips it when it, or a peer asked on ctl.taken, already took it.
// Live followers (`fleet logs -f` on any controller) subscribe to the log
// subjects directly, outside the queue group, so they see every line whichever
// controller took it.
//
// NATS permissions that fit (the subject names the host, so an agent limited to
// its own host cannot speak for another): an agent publishes
// fleet.<cluster>.{logs,events,metrics}.<host> and fleet.<cluster>.logs.<host>.>,
// subscribes to _INBOX.> and fleet.<cluster>.ctl.online; a controller subscribes
// to fleet.<cluster>.> and publishes fleet.<cluster>.ctl.>, fleet.<cluster>.deploys.>
// and _INBOX.> (its answers; plus $JS.API.> with --nats-logs-retention); a
// watcher of deployments subscribes to fleet.<cluster>.deploys.> only.

/** The queue group controllers consume logs, events and metrics in. */
export const NATS_QUEUE = 'fleet-controllers';

/** @default 'default' */
export const DEFAULT_NATS_CLUSTER = 'default';

export const NATS_HEADERS = {
  agent: 'Fleet-Agent',
  seq: 'Fleet-Seq',
  floor: 'Fleet-Floor',
  resend: 'Fleet-Resend',
  ack: 'Fleet-Ack',
  msgId: 'Nats-Msg-Id',
  /** On fleet.<cluster>.deploys.<app>: the index, in the deployment's whole list, of the first step carried. */
  step: 'Fleet-Step',
} as const;

export type NatsKind = 'logs' | 'events' | 'metrics';

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Why a cluster name cannot be a subject token, or undefined when it can. */
export function natsClusterProblem(cluster: string): string | undefined {
  if (CLUSTER_NAME.test(cluster)) return undefined;
  return `--nats-cluster "${cluster}" is not a valid name: use 1 to 64 letters, digits, dash and underscore`;
}

/** A host or app name as one subject token: characters outside [A-Za-z0-9_-] as %XX of their UTF-8 bytes. */
export function encodeSubjectToken(name: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(name)) return name;
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out || '%';
}

export function decodeSubjectToken(token: string): string {
  if (!token.includes('%')) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(token.slice(i + 1, i + 3))) {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface ParsedSubject {
  kind: NatsKind;
  host: string;
  /** Set on a log subject of one app; absent on the host-wide log subject. */
  app?: string;
}

/** The subjects of one fleet (`fleet.<cluster>`). */
export class NatsSubjects {
  readonly prefix: string;

  constructor(readonly cluster: string = DEFAULT_NATS_CLUSTER) {
    const problem = natsClusterProblem(cluster);
    if (problem) throw new Error(problem);
    this.prefix = `fleet.${cluster}`;
  }

  /** Lines of one app on one host. */
  logs(host: string, app: string): string {
    return `${this.prefix}.logs.${encodeSubjectToken(host)}.${encodeSubjectToken(app)}`;
  }

  /** Notices about every app of a host (lines it dropped). */
  hostLogs(host: string): string {
    return `${this.prefix}.logs.${encodeSubjectToken(host)}`;
  }

  events(host: string): string {
    return `${this.prefix}.events.${encodeSubjectToken(host)}`;
  }

  metrics(host: string): string {
    return `${this.prefix}.metrics.${encodeSubjectToken(host)}`;
  }

  /** A deployment of an app: its new steps and state changes, published by the controller driving it. */
  deploys(app: string): string {
    return `${this.prefix}.deploys.${encodeSubjectToken(app)}`;
  }

  /** Every app's deployments, for a subscription. */
  get allDeploys(): string {
    return `${this.prefix}.deploys.*`;
  }

  /** Every subject of a kind, for a subscription (`fleet.<cluster>.logs.>`). */
  all(kind: NatsKind): string {
    return kind === 'logs' ? `${this.prefix}.logs.>` : `${this.prefix}.${kind}.*`;
  }

  /**
   * The log subjects a follower of these hosts and apps subscribes to (undefined: all).
   * A host-wide notice concerns every app, so its subject is always among them.
   */
  logFollow(hosts?: Iterable<string>, apps?: Iterable<string>): string[] {
    const hostTokens = hosts ? [...hosts].map(encodeSubjectToken) : ['*'];
    if (!apps) return hostTokens.flatMap((h) => [`${this.prefix}.logs.${h}`, `${this.prefix}.logs.${h}.*`]);
    const appTokens = [...apps].map(encodeSubjectToken);
    return hostTokens.flatMap((h) => [`${this.prefix}.logs.${h}`, ...appTokens.map((a) => `${this.prefix}.logs.${h}.${a}`)]);
  }

  get taken(): string {
    return `${this.prefix}.ctl.taken`;
  }

  get recent(): string {
    return `${this.prefix}.ctl.recent`;
  }

  get online(): string {
    return `${this.prefix}.ctl.online`;
  }

  /** What a data subject is about; undefined for a subject that is not one. */
  parse(subject: string): ParsedSubject | undefined {
    if (!subject.startsWith(`${this.prefix}.`)) return undefined;
    const parts = subject.slice(this.prefix.length + 1).split('.');
    const [kind, host, app] = parts;
    if (!host || parts.length > 3) return undefined;
    if (kind === 'logs') return app === undefined ? { kind, host: decodeSubjectToken(host) } : { kind, host: decodeSubjectToken(host), app: decodeSubjectToken(app) };
    if ((kind === 'events' || kind === 'metrics') && app === undefined) return { kind, host: decodeSubjectToken(host) };
    return undefined;
  }
}
