// App metrics end to end: a real daemon, a cluster of 4 instances each
// recording known values with @fleet/probe, and `fleet describe` showing their
// sums (histograms merged bucket by bucket) beside each instance's own values,
// event-loop lag and heap. And the other way round: a helper process the app
// forks itself inherits the preload shims, yet sends the app nothing of Fleet's.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FleetHome, ROOT, freePort, waitFor } from '../harness';

const METRICS_APP = path.join(ROOT, 'test/fixtures/metrics-app.js');
const CHILD_APP = path.join(ROOT, 'test/fixtures/metrics-app-child.js');

interface MetricJson {
  name: string;
  kind: string;
  help: string;
  value: number;
  count: number;
  sum: number;
  bounds: number[];
  buckets: number[];
}

interface DescribeJson {
  instances: {
    instance: number;
    pid: number;
    status: string;
    eventLoopLagMs: number;
    heapUsedBytes: number;
    heapTotalBytes: number;
    metrics: MetricJson[];
  }[];
  metrics: MetricJson[];
}

function writeConfig(h: FleetHome, app: Record<string, unknown>): string {
  const file = path.join(h.home, `${String(app.name)}.config.js`);
  fs.writeFileSync(file, `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
  return file;
}

function describeApp(h: FleetHome, app: string): DescribeJson {
  const r = h.fleet(['describe', app, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.json<DescribeJson[]>()[0]!;
}

const byName = (list: MetricJson[], name: string): MetricJson | undefined => list.find((m) => m.name === name);

describe('app metrics', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('4 cluster instances: counters, meters and gauges sum, histograms merge; lag and heap per instance', async () => {
    const port = await freePort();
    const config = writeConfig(h, {
      name: 'metered',
      script: METRICS_APP,
      instances: 4,
      exec_mode: 'cluster',
      env: { PORT: String(port), FLEET_PROBE_INTERVAL_MS: '100' },
    });
    const r = h.fleet(['start', config]);
    assert.equal(r.code, 0, r.stderr);

    // Every instance has reported its vitals and its metrics (and the runner pushed them).
    const app = await waitFor(() => {
      const d = describeApp(h, 'metered');
      // Lag is above 0 once a report interval held some of the fixture's busy work (or timer jitter).
      const ready = d.instances.length === 4 && d.instances.every((i) => i.heapTotalBytes > 0 && i.eventLoopLagMs > 0 && byName(i.metrics, 'jobs_done'));
      return ready ? d : undefined;
    }, { message: 'vitals and metrics from all 4 instances' });

    for (const i of app.instances) {
      assert.equal(i.status, 'online');
      assert.ok(i.eventLoopLagMs > 0, `instance ${i.instance}: lag ${i.eventLoopLagMs} ms`);
      assert.ok(i.eventLoopLagMs < 1000, `instance ${i.instance}: lag ${i.eventLoopLagMs} ms is plausible`);
      assert.ok(i.heapUsedBytes > 0 && i.heapUsedBytes <= i.heapTotalBytes, `instance ${i.instance}: heap ${i.heapUsedBytes}/${i.heapTotalBytes}`);
      // What NODE_APP_INSTANCE made this instance record (test/fixtures/metrics-app.js).
      assert.equal(byName(i.metrics, 'jobs_done')!.value, 10 * (i.instance + 1));
      assert.equal(byName(i.metrics, 'requests')!.count, i.instance + 1);
    }

    const per = (name: string) => app.instances.map((i) => byName(i.metrics, name)!);
    const jobs = byName(app.metrics, 'jobs_done')!;
    assert.deepEqual({ kind: jobs.kind, value: jobs.value, help: jobs.help }, { kind: 'counter', value: 10 + 20 + 30 + 40, help: 'jobs finished' });
    assert.equal(jobs.value, per('jobs_done').reduce((a, m) => a + m.value, 0), 'the sum of what the instances recorded');

    const requests = byName(app.metrics, 'requests')!;
    assert.equal(requests.kind, 'meter');
    assert.equal(requests.count, 1 + 2 + 3 + 4);
    assert.ok(requests.value > 0, 'a rate while the events are inside the window');

    const workers = byName(app.metrics, 'workers')!;
    assert.deepEqual({ kind: workers.kind, value: workers.value, count: workers.count }, { kind: 'gauge', value: 4, count: 4 });

    const ms = byName(app.metrics, 'job_ms')!;
    assert.equal(ms.kind, 'histogram');
    assert.deepEqual(ms.bounds, [10, 100, 1000]);
    // Each instance observed 5, 50 and 500 * (i + 1): 500 and 1000 fall under 1000, 1500 and 2000 above.
    assert.deepEqual(ms.buckets, [4, 4, 2, 2]);
    assert.deepEqual(ms.buckets, [0, 1, 2, 3].map((b) => per('job_ms').reduce((a, m) => a + m.buckets[b]!, 0)), 'bucket-wise sum');
    assert.equal(ms.count, 12);
    assert.equal(ms.sum, 4 * (5 + 50) + 500 * (1 + 2 + 3 + 4));
    assert.equal(ms.value, ms.sum / ms.count);

    // The human view: lag and heap columns, and the app's metrics.
    const text = h.fleet(['describe', 'metered']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /#\s+pid\s+status\s+restarts\s+uptime\s+cpu\s+mem\s+lag\s+heap\s+last exit/);
    assert.match(text.stdout, /jobs_done\s+counter\s+100\s+jobs finished/);
    assert.match(text.stdout, /job_ms\s+histogram\s+n=12 avg=435/);
    assert.match(text.stdout, /requests\s+meter\s+[\d.]+\/s \(10 total\)/);
  });

  test("a process the app forks itself sends the app nothing of Fleet's; the app's own IPC works", async () => {
    const leakFile = path.join(h.home, 'leaks.txt');
    const config = writeConfig(h, {
      name: 'forker',
      script: CHILD_APP,
      wait_ready: true,
      listen_timeout: 5000,
      env: { LEAK_FILE: leakFile, FLEET_PROBE_INTERVAL_MS: '50' },
    });
    const r = h.fleet(['start', config]);
    assert.equal(r.code, 0, `ready came over the app's own IPC: ${r.stderr}`);
    const app = await waitFor(() => {
      const d = describeApp(h, 'forker');
      const i = d.instances[0];
      return i && i.heapTotalBytes > 0 && byName(d.metrics, 'primary_jobs') ? d : undefined;
    }, { message: 'vitals and metrics of the app' });
    assert.equal(byName(app.metrics, 'primary_jobs')!.value, 7);
    assert.equal(byName(app.metrics, 'helper_jobs'), undefined, "the helper's probe reports to no one");
    // The helper said hello (so the app became ready) six report intervals after it
    // started: whatever it leaked before came first on the channel and is written.
    assert.equal(fs.existsSync(leakFile) ? fs.readFileSync(leakFile, 'utf8') : '', '');
  });
});
