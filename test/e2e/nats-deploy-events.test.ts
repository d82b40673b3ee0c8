// Deploy steps on NATS, against a real nats-server: a controller with --nats
// publishes each new step of a deployment (and its state changes) to
// fleet.<cluster>.deploys.<app> — a Deployment whose `steps` are the new ones,
// header Fleet-Step their index — and a plain NATS subscriber sees the whole
// rollout, in order, ending with "deployment succeeded". The agent speaks gRPC
// only: deploy steps are the controller's.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { Deployment, DeploymentState } from '@fleet/protocol';
import { connect, type NatsConnection } from 'nats';
import { DeployFleet, describeDeployment } from '../deploy-helpers';
import { freePort, waitFor } from '../harness';
import { NATS_SKIP, NatsServer } from '../nats-server';

interface Seen {
  subject: string;
  from: number;
  d: Deployment;
}

describe('deploy steps on NATS', { timeout: 30_000, skip: NATS_SKIP }, () => {
  const f = new DeployFleet(['web1']);
  let nats: NatsServer;
  let watcher: NatsConnection | undefined;
  const seen: Seen[] = [];

  before(async () => {
    nats = await NatsServer.start();
    await f.c.startController(['--nats', nats.url, '--nats-cluster', 'e2e']);
    await waitFor(() => f.c.controllerLog.includes('taking fleet.e2e'), { message: 'the controller on NATS' });
    f.ports.web1 = await freePort();
    await f.c.startAgent({ name: 'web1', labels: 'role=web', env: { PORT: String(f.ports.web1) } });
    watcher = await connect({ servers: nats.url, name: 'deploy watcher', maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    watcher.subscribe('fleet.e2e.deploys.>', {
      callback: (err, msg) => {
        if (err) return;
        seen.push({ subject: msg.subject, from: Number(msg.headers?.get('Fleet-Step') ?? -1), d: Deployment.decode(msg.data) });
      },
    });
    await watcher.flush();
  });

  after(async () => {
    await watcher?.close();
    await f.c.cleanup();
    await nats?.cleanup();
  });

  test('fleet deploy: every step reaches a subscriber of fleet.e2e.deploys.>, once, in order, ending with "deployment succeeded"', async () => {
    const app = f.appCopy('v1');
    const { r, d } = await f.deployJson(app, ['--hosts', 'web1']);
    assert.equal(r.code, 0, `${r.stderr}\n${describeDeployment(d)}\n${f.logs()}`);
    assert.equal(d.state, 'DEPLOYMENT_STATE_SUCCEEDED', describeDeployment(d));

    const last = () => seen.at(-1)?.d.steps.at(-1)?.message;
    await waitFor(() => last() === 'deployment succeeded', { timeoutMs: 5_000, message: 'the last step on NATS' }).catch((err: Error) => {
      throw new Error(`${err.message}; seen: ${JSON.stringify(seen.map((s) => [s.from, s.d.steps.map((x) => x.message)]))}\n${f.logs()}`);
    });

    assert.ok(seen.length >= 3, `${seen.length} messages`);
    for (const s of seen) {
      assert.equal(s.subject, 'fleet.e2e.deploys.api');
      assert.equal(s.d.id, d.id);
      assert.equal(s.d.app, 'api');
      assert.equal(s.d.version, 1);
      assert.deepEqual(s.d.hosts.map((h) => h.name), ['web1']);
    }
    // Each message carries the steps after the previous one's: no gap, no repeat.
    let next = 0;
    for (const s of seen) {
      assert.equal(s.from, next, `Fleet-Step of ${JSON.stringify(s.d.steps.map((x) => x.message))}`);
      next += s.d.steps.length;
    }
    const steps = seen.flatMap((s) => s.d.steps.map((x) => `${x.host || '-'}: ${x.message}`));
    assert.deepEqual(steps, d.steps.map((x) => `${x.host || '-'}: ${x.message}`), 'the steps on NATS are the deployment record');
    assert.match(steps[0], /^-: deployment of api v1 to web1 created by /);
    assert.ok(steps.includes('web1: switching to v1'), steps.join('\n'));
    assert.ok(steps.includes('web1: healthy on v1'), steps.join('\n'));
    assert.equal(steps.at(-1), '-: deployment succeeded');

    const end = seen.at(-1)!.d;
    assert.equal(end.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
    assert.ok(end.endedMs > 0);
    assert.equal(seen[0].d.state, DeploymentState.DEPLOYMENT_STATE_RUNNING);
  });

  test('NATS away: the deployment goes on as if nothing happened; back: the next one is published again', async () => {
    const app = f.appCopy('v2');
    await nats.stop();
    await waitFor(() => /NATS \S+ lost; redialling/.test(f.c.controllerLog), { message: 'the controller to see NATS gone' });
    const before = seen.length;
    const away = await f.deployJson(app, []);
    assert.equal(away.r.code, 0, `${away.r.stderr}\n${describeDeployment(away.d)}`);
    assert.equal(away.d.state, 'DEPLOYMENT_STATE_SUCCEEDED', describeDeployment(away.d));
    assert.match(f.c.controllerLog, /deployment steps not published on NATS \(not connected\): dropped until it is back; the deployment goes on/);

    await nats.start();
    await waitFor(() => f.c.controllerLog.includes('reconnected to NATS'), { message: 'the controller back on NATS' });
    await watcher!.flush();
    const again = await f.deployJson(f.appCopy('v3'), []);
    assert.equal(again.r.code, 0, `${again.r.stderr}\n${describeDeployment(again.d)}`);
    await waitFor(() => seen.at(-1)?.d.id === again.d.id && seen.at(-1)?.d.endedMs !== 0, { timeoutMs: 5_000, message: 'the v3 deployment on NATS' });
    assert.ok(seen.slice(before).every((s) => s.d.id === again.d.id), 'nothing of the deployment made while NATS was away arrives late');
    const v3 = seen.slice(before);
    assert.equal(v3[0].from, 0);
    assert.deepEqual(v3.flatMap((s) => s.d.steps.map((x) => x.message)), again.d.steps.map((x) => x.message));
    assert.match(f.c.controllerLog, /deployment steps published on NATS again \(\d+ message\(s\) dropped while it was away\)/);
  });
});
