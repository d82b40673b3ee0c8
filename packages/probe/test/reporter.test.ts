import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { reportInterval, runnerChannel } from '../src/reporter';

const PROBE = path.resolve(__dirname, '../src/index.js');

function fakeProcess(fields: Partial<NodeJS.Process>): NodeJS.Process {
  return { env: {}, ppid: 42, connected: true, ...fields } as NodeJS.Process;
}

test('a runner channel only for a direct child of the runner with IPC', () => {
  const send = () => true;
  assert.equal(runnerChannel(fakeProcess({ env: { FLEET_RUNNER_PID: '42' } })), undefined, 'no IPC channel');
  assert.equal(runnerChannel(fakeProcess({ send, env: {} })), undefined, 'not started by Fleet');
  assert.equal(runnerChannel(fakeProcess({ send, env: { FLEET_RUNNER_PID: '41' } })), undefined, "the app's own child");
  const sent: unknown[] = [];
  const ch = runnerChannel(fakeProcess({ send: ((m: unknown) => {
    sent.push(m);
    return true;
  }) as NodeJS.Process['send'], env: { FLEET_RUNNER_PID: '42' } }));
  assert.ok(ch);
  ch({ fleet: 'metrics', metrics: [] });
  assert.deepEqual(sent, [{ fleet: 'metrics', metrics: [] }]);
});

test('report interval: FLEET_PROBE_INTERVAL_MS, else 5 s', () => {
  assert.equal(reportInterval({}), 5000);
  assert.equal(reportInterval({ FLEET_PROBE_INTERVAL_MS: '50' }), 50);
  assert.equal(reportInterval({ FLEET_PROBE_INTERVAL_MS: 'soon' }), 5000);
  assert.equal(reportInterval({ FLEET_PROBE_INTERVAL_MS: '1' }), 5000, 'below 10 ms is refused');
});

/** Runs a script in a child with an IPC channel; collects what it sends. */
function runChild(source: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; messages: unknown[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', source], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const messages: unknown[] = [];
    child.on('message', (m) => messages.push(m));
    child.on('exit', (code) => resolve({ code, messages }));
  });
}

test('under a runner: reports every interval; the timer never holds the process', async () => {
  const source = `
    const { counter, histogram } = require(${JSON.stringify(PROBE)});
    counter('hits').inc(3);
    histogram('ms', { buckets: [10] }).observe(4);
    setTimeout(() => process.disconnect(), 300);`;
  const { code, messages } = await runChild(source, { FLEET_RUNNER_PID: String(process.pid), FLEET_PROBE_INTERVAL_MS: '20' });
  assert.equal(code, 0);
  assert.ok(messages.length >= 3, `several reports in 300 ms (got ${messages.length})`);
  assert.deepEqual(messages.at(-1), {
    fleet: 'metrics',
    metrics: [
      { name: 'hits', kind: 'counter', value: 3, help: '' },
      { name: 'ms', kind: 'histogram', value: 4, count: 1, bounds: [10], buckets: [1, 0], sum: 4, help: '' },
    ],
  });
});

test('not under a runner: sends nothing and exits at once', async () => {
  const source = `require(${JSON.stringify(PROBE)}).counter('hits').inc(); setTimeout(() => process.disconnect(), 100);`;
  const { code, messages } = await runChild(source, { FLEET_RUNNER_PID: '', FLEET_PROBE_INTERVAL_MS: '10' });
  assert.equal(code, 0);
  assert.deepEqual(messages, []);
});

test('ESM apps import the named functions', async () => {
  const source = `import(${JSON.stringify(PROBE)}).then((m) => { process.send(typeof m.counter + ' ' + typeof m.histogram); process.disconnect(); });`;
  const { messages } = await runChild(source, {});
  assert.deepEqual(messages, ['function function']);
});
