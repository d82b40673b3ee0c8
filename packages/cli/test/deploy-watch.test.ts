// The deploy watch without sockets: streams scripted event by event, so the
// reconnect decisions, giving up, Ctrl-C and the live view's cursor moves are exact.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { Deployment, DeploymentState, HostPhase, UnavailableError } from '@fleet/protocol';
import type { FleetApi } from '../src/client';
import { CommandContext } from '../src/context';
import { reportError } from '../src/exit-codes';
import { reconnectDelay, RECONNECT, screenRows, watchDeployment, type ReconnectPolicy } from '../src/deploy/deploy-watch';
import { makeColors } from '../src/format/color';
import { renderDeployment } from '../src/format/deployment';
import { capture, type Captured } from './helpers';

const ID = 'ab12cd34';
const FAST: ReconnectPolicy = { firstDelayMs: 1, maxDelayMs: 4, giveUpAfterMs: 40 };

function deployment(state: DeploymentState, reason = ''): Deployment {
  const final = state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED;
  return Deployment.fromPartial({
    id: ID,
    app: 'api',
    version: 2,
    state,
    createdMs: 1_700_000_000_000,
    endedMs: final ? 1_700_000_010_000 : 0,
    hosts: [
      { name: 'web1', phase: HostPhase.HOST_PHASE_VERIFYING, previousVersion: 1, health: reason },
      { name: 'web2', phase: HostPhase.HOST_PHASE_WAITING, previousVersion: 1 },
    ],
  });
}

type Script = (s: EventEmitter) => void;

/** An api whose watch streams play `scripts` in order (the last one again and again); Ctrl-C handlers collected. */
function setup(scripts: Script[], stdout: Captured & { columns?: number } = capture()) {
  const stderr = capture();
  const handlers = new Set<() => void>();
  const ctx = new CommandContext({
    stdout,
    stderr,
    env: { NO_COLOR: '1' },
    cwd: '/',
    onInterrupt: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
  });
  let subscriptions = 0;
  const api = {
    watchDeployment: () => {
      const s = Object.assign(new EventEmitter(), {
        cancel: () => setImmediate(() => s.emit('error', Object.assign(new Error('Call cancelled'), { code: 1 }))),
      });
      const script = scripts[Math.min(subscriptions++, scripts.length - 1)];
      setImmediate(() => script(s));
      return s as unknown as ClientReadableStream<Deployment>;
    },
  } as unknown as FleetApi;
  return { ctx, api, stdout, stderr, handlers, subscriptions: () => subscriptions };
}

const dropped: Script = (s) => s.emit('error', Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14 }));
const running: Script = (s) => s.emit('data', deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING));
const succeeds: Script = (s) => {
  s.emit('data', deployment(DeploymentState.DEPLOYMENT_STATE_SUCCEEDED));
  s.emit('end');
};

test('reconnect backoff: 250 ms doubling to 2 s, for 60 s after the drop', () => {
  const waits = [0, 1, 2, 3, 4, 5].map((attempt) => reconnectDelay(RECONNECT, attempt, 0));
  assert.deepEqual(waits, [250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(reconnectDelay(RECONNECT, 10, 59_500), 500, 'never past the deadline');
  assert.equal(reconnectDelay(RECONNECT, 10, 60_000), undefined);
});

test('a dropped watch, or one that ends before the deployment, is subscribed again; the user is told once', async () => {
  const endsEarly: Script = (s) => {
    running(s);
    s.emit('end');
  };
  const w = setup([dropped, endsEarly, dropped, succeeds]);
  const end = await watchDeployment(w.ctx, w.api, deployment(DeploymentState.DEPLOYMENT_STATE_PENDING), { live: false, reconnect: FAST });
  assert.equal(end.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
  assert.equal(w.subscriptions(), 4);
  // Once per outage: the controller answered in between (endsEarly sent data).
  assert.equal(w.stderr.text, `lost the controller; reconnecting… (deployment ${ID} goes on there)\n`.repeat(2));
  assert.equal(w.handlers.size, 0);
});

test('a controller that stays away: exit 1 naming the deployment and how to follow it', async () => {
  const w = setup([(s) => {
    running(s);
    dropped(s);
  }, dropped]);
  const err = await watchDeployment(w.ctx, w.api, deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING), { live: false, reconnect: FAST }).then(
    () => assert.fail('should give up'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UnavailableError);
  assert.deepEqual(reportError(err), {
    code: 1,
    text: `error: lost the controller; deployment ${ID} goes on there\n  fix: follow it with fleet deploy status ${ID}\n`,
  });
  assert.equal(w.stderr.text, `lost the controller; reconnecting… (deployment ${ID} goes on there)\n`);
  assert.ok(w.subscriptions() > 3, 'tried more than once');
  assert.equal(w.handlers.size, 0);
});

test('other errors are not retried', async () => {
  const denied: Script = (s) => s.emit('error', Object.assign(new Error('7 PERMISSION_DENIED: no'), { code: 7 }));
  const w = setup([denied]);
  await assert.rejects(watchDeployment(w.ctx, w.api, deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING), { live: false, reconnect: FAST }), /PERMISSION_DENIED/);
  assert.equal(w.subscriptions(), 1);
});

test('Ctrl-C while reconnecting stops following at once; the deployment goes on', async () => {
  const w = setup([dropped]);
  const slow: ReconnectPolicy = { firstDelayMs: 60_000, maxDelayMs: 60_000, giveUpAfterMs: 600_000 };
  const watching = watchDeployment(w.ctx, w.api, deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING), { live: false, reconnect: slow });
  while (!w.stderr.text.includes('reconnecting')) await new Promise((r) => setImmediate(r));
  for (const h of w.handlers) h();
  const end = await watching;
  assert.equal(end.state, DeploymentState.DEPLOYMENT_STATE_RUNNING);
  assert.match(w.stderr.text, new RegExp(`stopped following; deployment ${ID} goes on`));
  assert.equal(w.subscriptions(), 1);
});

test('screen rows: a line longer than the terminal takes more than one; colour codes take no room', () => {
  assert.equal(screenRows('a\nb\n', 80), 2);
  assert.equal(screenRows(`${'x'.repeat(80)}\n`, 80), 1, 'exactly the width: one row');
  assert.equal(screenRows(`${'x'.repeat(81)}\n\n`, 80), 3);
  assert.equal(screenRows(`\u001b[31m${'x'.repeat(40)}\u001b[39m\n`, 40), 1);
});

test('the live view cuts a long DETAIL to the terminal and moves the cursor up over every row it drew', async () => {
  const tty = Object.assign(capture(true), { columns: 50 });
  const long = `GET http://127.0.0.1:3000/health answered 500: ${'x'.repeat(200)}`;
  const w = setup([(s) => {
    s.emit('data', deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING, long));
    succeeds(s);
  }], tty);
  await watchDeployment(w.ctx, w.api, deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING), { live: true });
  const frames = tty.text.split(/\u001b\[(\d+)A\u001b\[J/);
  // frame, rows, frame, rows, frame: each move goes up exactly as many rows as the frame before it took.
  assert.equal(frames.length, 5);
  for (let i = 1; i < frames.length; i += 2) assert.equal(Number(frames[i]), screenRows(frames[i - 1], 50));
  assert.ok(Number(frames[1]) > frames[0].split('\n').length - 1, `the header wraps at 50 columns: ${frames[0]}`);
  const hostRow = frames[2].split('\n').find((l) => l.startsWith('web1'))!;
  assert.equal(hostRow.length, 50, hostRow);
  assert.ok(hostRow.endsWith('…'), hostRow);
  // Without a width (pipes, `deploy status`) nothing is cut.
  assert.ok(renderDeployment(deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING, long), makeColors(false)).includes(long));
});
