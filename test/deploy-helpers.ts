// Helpers for the deploy end-to-end tests: a FleetCluster whose hosts each give
// the app its own PORT, copies of the deploy fixture app to release from, load
// over every host at once, and the JSON shapes `fleet deploy|releases --json`
// print (ts-proto objects through JSON.stringify: camelCase, enum names).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { type ArtifactPresence, type DeploymentsResponse, FleetClient } from '@fleet/protocol';
import { type CliResult, freePort, httpGet, KeepAliveLoad, type LoadResult, ROOT, waitFor } from './harness';
import { FleetCluster, TOKENS } from './fleet-cluster';

export const DEPLOY_APP = path.join(ROOT, 'test/fixtures/deploy-app');

export interface DeployHostJson {
  name: string;
  phase: string;
  previousVersion: number;
  batch: number;
  reason: string;
  health: string;
  switched: boolean;
}

export interface DeploymentJson {
  id: string;
  app: string;
  version: number;
  state: string;
  hosts: DeployHostJson[];
  steps: { timeMs: number; host: string; message: string }[];
  reason: string;
  endedMs: number;
  rollback: boolean;
}

export interface ReleasesJson {
  releases: { version: number; state: string; digest: string; deploymentId: string; spec?: unknown }[];
  hosts: { host: string; version: number }[];
}

/** A controller and hosts web1..webN, each host's app on its own port. */
export class DeployFleet {
  readonly c = new FleetCluster(300);
  readonly ports: Record<string, number> = {};
  private copies = 0;

  constructor(readonly hosts: string[]) {}

  async start(): Promise<void> {
    await this.c.startController();
    for (const name of this.hosts) {
      this.ports[name] = await freePort();
      await this.c.startAgent({ name, labels: 'role=web', env: { PORT: String(this.ports[name]) } });
    }
  }

  /** A fresh copy of the fixture app to deploy from (never the fixture itself). */
  appCopy(version: string): string {
    const dir = path.join(this.c.dir, `app-${++this.copies}`);
    fs.cpSync(DEPLOY_APP, dir, { recursive: true });
    setVersion(dir, version);
    return dir;
  }

  /** `fleet deploy api …` from `dir`, without blocking this process (load clients live in it). */
  deploy(dir: string, args: string[]): Promise<CliResult> {
    return this.c.fleetAsync(['deploy', 'api', ...args], { cwd: dir });
  }

  async deployJson(dir: string, args: string[]): Promise<{ r: CliResult; d: DeploymentJson }> {
    const r = await this.deploy(dir, [...args, '--json']);
    let d: DeploymentJson;
    try {
      d = r.json<{ deployment: DeploymentJson }>().deployment;
    } catch {
      throw new Error(`fleet deploy --json printed no deployment (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { r, d };
  }

  /**
   * A deployment as the controller reports it (the Deployments call behind
   * `fleet deploy status`). Through gRPC, not the CLI: `fleet deploy status <id>
   * --json` prints the text table (the parent command takes --json), see the
   * BUG test in deploy.test.ts.
   */
  async status(id: string): Promise<DeploymentJson> {
    const { client, md } = this.rawClient();
    try {
      const res = await new Promise<DeploymentsResponse>((ok, fail) =>
        client.deployments({ app: '', id, all: false }, md, { deadline: Date.now() + 5000 }, (e, v) => (e ? fail(e) : ok(v))),
      );
      return res.deployments[0] as unknown as DeploymentJson;
    } finally {
      client.close();
    }
  }

  /** Waits for `pred` on the deployment's status, polling the real CLI. */
  async waitStatus(id: string, pred: (d: DeploymentJson) => boolean, message: string, timeoutMs = 30_000): Promise<DeploymentJson> {
    let last: DeploymentJson | undefined;
    try {
      return await waitFor(async () => {
        last = await this.status(id);
        return pred(last) ? last : undefined;
      }, { timeoutMs, intervalMs: 100, message });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast status: ${last ? describeDeployment(last) : 'none'}`);
    }
  }

  async releases(): Promise<ReleasesJson> {
    const r = await this.c.fleetAsync(['releases', 'api', '--json']);
    if (r.code !== 0) throw new Error(`fleet releases failed (${r.code}): ${r.stderr}`);
    return r.json<ReleasesJson>();
  }

  /** What each host's app answers now. */
  async answers(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const h of this.hosts) {
      const res = await httpGet(this.ports[h]).catch((e: Error) => ({ status: 0, body: `error ${e.message}` }));
      out[h] = res.status === 200 ? res.body : `HTTP ${res.status} ${res.body}`;
    }
    return out;
  }

  /** Until every host answers `version`. */
  async waitAll(version: string, timeoutMs = 15_000): Promise<void> {
    let last: Record<string, string> = {};
    await waitFor(async () => {
      last = await this.answers();
      return Object.values(last).every((b) => b === version);
    }, { timeoutMs, message: `every host to answer ${version}` }).catch((err: Error) => {
      throw new Error(`${err.message}; answers: ${JSON.stringify(last)}`);
    });
  }

  /** A raw gRPC client of the controller with the operator token (for what the CLI cannot send). */
  rawClient(): { client: FleetClient; md: Metadata } {
    const client = new FleetClient(this.c.address, credentials.createInsecure());
    const md = new Metadata();
    md.set('authorization', `Bearer ${TOKENS.operator}`);
    return { client, md };
  }

  async uploadRaw(digest: string, bytes: Buffer): Promise<ArtifactPresence> {
    const { client, md } = this.rawClient();
    try {
      return await new Promise<ArtifactPresence>((resolve, reject) => {
        const call = client.uploadArtifact(md, (err, res) => (err ? reject(err) : resolve(res)));
        call.write({ ref: { digest, sizeBytes: bytes.length }, data: Buffer.alloc(0) });
        call.write({ ref: undefined, data: bytes });
        call.end();
      });
    } finally {
      client.close();
    }
  }

  /** The controller's and every agent's output, for failure messages. */
  logs(): string {
    const parts = [`--- controller\n${this.c.controllerLog.slice(-4000)}`];
    for (const [name, log] of this.c.agentLogs) parts.push(`--- agent ${name}\n${log.slice(-3000)}`);
    return parts.join('\n');
  }
}

export function setVersion(dir: string, version: string): void {
  fs.writeFileSync(path.join(dir, 'VERSION'), `${version}\n`);
}

/** A marker file the fixture app reads at start (CRASH, UNHEALTHY); `false` removes it. */
export function setMarker(dir: string, marker: 'CRASH' | 'UNHEALTHY', on: boolean): void {
  const file = path.join(dir, marker);
  if (on) fs.writeFileSync(file, '1\n');
  else fs.rmSync(file, { force: true });
}

/** A deployment as one readable block, for assertion messages. */
export function describeDeployment(d: DeploymentJson): string {
  const hosts = d.hosts.map((h) => `  ${h.name} ${h.phase} prev=v${h.previousVersion} switched=${h.switched} ${h.reason}`).join('\n');
  const steps = d.steps.map((s) => `  ${s.host || '-'}: ${s.message}`).join('\n');
  return `deployment ${d.id} v${d.version} ${d.state} reason=${JSON.stringify(d.reason)}\n${hosts}\n${steps}`;
}

export function phases(d: DeploymentJson): Record<string, string> {
  return Object.fromEntries(d.hosts.map((h) => [h.name, h.phase.replace('HOST_PHASE_', '').toLowerCase()]));
}

/**
 * Keep-alive load over every host at once, plus a sampler recording what each
 * host's clients last got, to see the rollout move host by host.
 */
export class FleetLoad {
  private readonly loads = new Map<string, KeepAliveLoad>();
  readonly samples: Record<string, string[]>[] = [];
  private timer?: NodeJS.Timeout;

  constructor(ports: Record<string, number>, concurrency = 3) {
    for (const [host, port] of Object.entries(ports)) this.loads.set(host, new KeepAliveLoad(port, concurrency));
  }

  async start(): Promise<this> {
    for (const l of this.loads.values()) l.start();
    await waitFor(() => [...this.loads.values()].every((l) => l.ok > 20), { message: 'load on every host' });
    this.timer = setInterval(() => this.samples.push(this.latest()), 50);
    return this;
  }

  get ok(): number {
    return [...this.loads.values()].reduce((n, l) => n + l.ok, 0);
  }

  latest(): Record<string, string[]> {
    return Object.fromEntries([...this.loads].map(([h, l]) => [h, [...l.latestBodies()].sort()]));
  }

  /** Lets the load run `n` more successful requests per host (the old instances are gone by then). */
  async settle(n = 50): Promise<void> {
    const base = new Map([...this.loads].map(([h, l]) => [h, l.ok]));
    await waitFor(() => [...this.loads].every(([h, l]) => l.ok >= base.get(h)! + n), { message: 'load to go on', timeoutMs: 20_000 });
  }

  async stop(): Promise<{ total: LoadResult; byHost: Record<string, LoadResult> }> {
    clearInterval(this.timer);
    const byHost: Record<string, LoadResult> = {};
    for (const [h, l] of this.loads) byHost[h] = await l.stop();
    const total: LoadResult = { ok: 0, failed: 0, errors: {}, bodies: new Set() };
    for (const [h, r] of Object.entries(byHost)) {
      total.ok += r.ok;
      total.failed += r.failed;
      for (const [k, v] of Object.entries(r.errors)) total.errors[`${h} ${k}`] = v;
      for (const b of r.bodies) total.bodies.add(b);
    }
    return { total, byHost };
  }
}

export const isEnded = (d: DeploymentJson): boolean => d.endedMs > 0;
