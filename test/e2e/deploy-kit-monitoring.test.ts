// The Grafana dashboard and prometheus.yml: every PromQL expression against FLEET_METRICS, and a real Prometheus.
// Each check skips loudly (never silently) when its tool is absent.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { appMetricName, FLEET_METRICS } from '@fleet/protocol';
import { freePort, waitFor } from '../harness';
import { DEPLOY, YAML, flagValues, loud, parseEnvFile, read, which } from '../deploy-kit/kit';
import { APP_LABELS, METRICS, checkPromql, scanPromql } from '../deploy-kit/promql';

describe('PromQL checker (self-test: each rule can fail)', () => {
  test('it rejects what it must', () => {
    assert.throws(() => checkPromql('fleet_instance_cpu_seconds{host="a"}', 't'), /not a metric Fleet exports/);
    assert.throws(() => checkPromql('rate(fleet_instance_memory_bytes[5m])', 't'), /rate\(\) of the gauge/);
    assert.throws(() => checkPromql('fleet_host_load1{app="x"}', 't'), /has no label app/);
    assert.throws(() => checkPromql('sum by (app) (fleet_host_load1)', 't'), /groups by app/);
    assert.throws(() => checkPromql('{__name__=~".+"}', 't'), /may match metrics/);
    assert.deepEqual(checkPromql('sum by (host) (increase(fleet_instance_restarts_total{job="$job", app=~"$app"}[$__rate_interval])) or vector(0)', 't'), ['fleet_instance_restarts_total']);
    assert.deepEqual(checkPromql(`sum(${appMetricName('http.requests')}_rate{app="api"})`, 't'), []);
  });
});

// ---------------------------------------------------------------- Grafana

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; expr: string; legendFormat?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { uid?: string };
  current?: { value?: string | string[] };
}

describe('deploy/grafana/fleet-dashboard.json', () => {
  const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as {
    schemaVersion: number;
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: Variable[] };
  };
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const vars = dash.templating.list;

  test('a dashboard Grafana imports: schema, a Prometheus data source variable, unique panel ids, grid positions', () => {
    assert.ok(dash.schemaVersion >= 36 && dash.schemaVersion <= 41, `schemaVersion ${dash.schemaVersion}`);
    assert.ok(dash.uid && dash.title);
    const ds = vars.find((v) => v.type === 'datasource');
    assert.ok(ds && ds.query === 'prometheus', 'a data source variable of type prometheus');
    const dsRef = `\${${ds.name}}`;
    const ids = new Set<number>();
    const KNOWN = new Set(['row', 'timeseries', 'stat', 'table', 'bargauge', 'gauge', 'state-timeline', 'status-history', 'text', 'piechart', 'heatmap', 'barchart']);
    for (const p of panels) {
      assert.ok(Number.isInteger(p.id) && p.id > 0 && !ids.has(p.id), `panel "${p.title}": id ${p.id} unique`);
      ids.add(p.id);
      assert.ok(KNOWN.has(p.type), `panel "${p.title}": type ${p.type}`);
      const g = p.gridPos;
      assert.ok(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `panel "${p.title}": gridPos ${JSON.stringify(g)}`);
      if (p.type === 'row' || p.type === 'text') continue;
      assert.equal(p.datasource?.uid, dsRef, `panel "${p.title}" uses the data source variable`);
      assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
      const refIds = new Set<string>();
      for (const t of p.targets!) {
        assert.ok(t.refId && !refIds.has(t.refId), `panel "${p.title}": refId ${t.refId} unique`);
        refIds.add(t.refId);
        assert.ok(!t.datasource || t.datasource.uid === dsRef, `panel "${p.title}" ${t.refId}: data source`);
      }
    }
    for (const v of vars.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, dsRef, `variable ${v.name}: data source`);
  });

  test('every query uses only metric names and labels Fleet exports (FLEET_METRICS, fleet_app_…), and all of FLEET_METRICS is shown', () => {
    const used = new Set<string>();
    const defined = new Set(vars.map((v) => v.name));
    const checkVars = (text: string, where: string): void => {
      for (const m of text.matchAll(/\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))/g)) {
        const name = m[1] ?? m[2]!;
        assert.ok(name.startsWith('__') || defined.has(name), `${where}: $${name} is not a variable of the dashboard`);
      }
    };
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const where = `panel "${p.title}" ${t.refId}`;
        checkVars(t.expr, where);
        const names = checkPromql(t.expr, where);
        for (const n of names) used.add(n);
        // Legends may only name labels the series can carry.
        const labels = new Set(['__name__', 'job', ...names.flatMap((n) => METRICS.get(n)!.labels), ...(names.length < scanPromql(t.expr).refs.length ? APP_LABELS : [])]);
        for (const m of (t.legendFormat ?? '').matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
          assert.ok(labels.has(m[1]!), `${where}: the legend names {{${m[1]}}}, a label its series do not have`);
        }
      }
    }
    for (const v of vars.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(q);
      assert.ok(m, `variable ${v.name}: label_values(selector, label), got ${q}`);
      checkVars(m[1]!, `variable ${v.name}`);
      const names = checkPromql(m[1]!, `variable ${v.name}`);
      assert.ok(['job', ...names.flatMap((n) => METRICS.get(n)!.labels)].includes(m[2]!), `variable ${v.name}: ${m[2]} is not a label of ${names.join(', ')}`);
    }
    const missing = FLEET_METRICS.map((m) => m.name).filter((n) => !used.has(n));
    assert.deepEqual(missing, [], `metrics Fleet exports that no panel shows (add a panel to deploy/grafana/fleet-dashboard.json): ${missing.join(', ')}`);
  });
});

// ---------------------------------------------------------------- Prometheus

describe('deploy/prometheus/prometheus.yml', () => {
  const text = read('prometheus/prometheus.yml');
  const config = YAML.parse(text) as {
    scrape_configs: { job_name: string; metrics_path?: string; honor_labels?: boolean; scheme?: string; static_configs: { targets: string[] }[] }[];
  };

  test("scrapes the controller's /metrics (and the agents'), keeping Fleet's own instance label", () => {
    const jobs = config.scrape_configs;
    assert.ok(Array.isArray(jobs) && jobs.length > 0);
    assert.equal(new Set(jobs.map((j) => j.job_name)).size, jobs.length, 'job names unique');
    for (const j of jobs) {
      assert.equal(j.metrics_path ?? '/metrics', '/metrics', `${j.job_name}: the metrics path`);
      assert.equal(j.honor_labels, true, `${j.job_name}: honor_labels, or Prometheus renames Fleet's "instance" label to exported_instance`);
      const targets = j.static_configs.flatMap((c) => c.targets);
      assert.ok(targets.length > 0);
      for (const t of targets) assert.match(t, /^[A-Za-z0-9.-]+:\d+$/, `${j.job_name}: target ${t}`);
    }
    const ctl = jobs.find((j) => j.job_name === 'fleet-controller');
    assert.ok(ctl, 'a fleet-controller job');
    // Where controller.env tells the controller to serve its metrics.
    const args = parseEnvFile(read('systemd/controller.env')).FLEET_CONTROLLER_ARGS?.split(/\s+/) ?? [];
    const metricsListen = flagValues(args, '--metrics-listen')[0];
    assert.ok(metricsListen, 'controller.env sets --metrics-listen');
    assert.ok(ctl.static_configs.flatMap((c) => c.targets).includes(metricsListen), `the controller job scrapes ${metricsListen}`);
    assert.ok(jobs.some((j) => j.job_name === 'fleet-agents'), 'a job for the agents');
    assert.match(text, /^\s*#\s*credentials_file:/m, 'the bearer token file option, commented');
    // The dashboard's default source is one of these jobs.
    const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as { templating: { list: Variable[] } };
    const jobVar = dash.templating.list.find((v) => v.name === 'job');
    assert.ok(jobs.some((j) => j.job_name === jobVar?.current?.value), `the dashboard's default job ${String(jobVar?.current?.value)} is scraped`);
  });

  test('promtool check config accepts it', (t) => {
    const promtool = which('promtool');
    if (!promtool) {
      loud(t, 'promtool is not installed: prometheus.yml was checked structurally only');
      return;
    }
    const r = spawnSync(promtool, ['check', 'config', path.join(DEPLOY, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

// ---------------------------------------------------------------- both, in a real Prometheus

function getJson<T>(url: string): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: T | undefined;
        try {
          body = JSON.parse(text) as T;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    }).on('error', () => resolve({ status: 0, body: undefined }));
  });
}

interface PromResult {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('prometheus.yml and every dashboard query, in a real Prometheus scraping FLEET_METRICS', () => {
  test('each query returns series, Fleet\'s instance label survives the scrape', async (t) => {
    const bin = which('prometheus');
    if (!bin) {
      loud(t, 'prometheus is not installed (Debian package prometheus): the dashboard queries were not run');
      return;
    }
    // Every metric of the contract, one series each with every label it declares, and an app meter.
    const SAMPLE: Record<string, string> = { host: 'web1', app: 'hello', instance: '0', release: 'v1', status: 'online', deployment: 'd1', version: '1', state: 'running', phase: 'healthy' };
    let scrapes = 0;
    const exposition = (): string => {
      scrapes++;
      const lines: string[] = [];
      for (const m of FLEET_METRICS) {
        lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
        const labels = m.labels.map((l) => `${l}="${SAMPLE[l] ?? 'x'}"`).join(',');
        lines.push(`${m.name}{${labels}} ${m.type === 'counter' ? scrapes : 1}`);
      }
      lines.push(`# TYPE ${appMetricName('requests')}_rate gauge`, `${appMetricName('requests')}_rate{host="web1",app="hello"} 5`);
      return `${lines.join('\n')}\n`;
    };
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(req.url === '/metrics' ? exposition() : '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const fakePort = (server.address() as { port: number }).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-prometheus-'));
    const promPort = await freePort();
    // The kit's config as is, but scraping the stand-in every second.
    const config = YAML.parse(read('prometheus/prometheus.yml')) as { global: Record<string, string>; scrape_configs: { static_configs: { targets: string[] }[] }[] };
    config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s' };
    for (const job of config.scrape_configs) job.static_configs = [{ targets: [`127.0.0.1:${fakePort}`] }];
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
    let log = '';
    const prom = spawn(bin, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { cwd: dir });
    prom.stdout.on('data', (d) => (log += d));
    prom.stderr.on('data', (d) => (log += d));
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const query = async (q: string): Promise<PromResult> => (await getJson<PromResult>(`${api}/query?query=${encodeURIComponent(q)}`)).body ?? { status: 'no answer', data: { result: [] } };
    try {
      // Two scrapes of both jobs: enough for increase() over a minute.
      await waitFor(async () => {
        const r = await query('min(count_over_time(fleet_host_up[1m]))');
        return r.status === 'success' && Number(r.data.result[0]?.value[1] ?? 0) >= 2 && (await query('count(up == 1)')).data.result[0]?.value[1] === String(config.scrape_configs.length);
      }, { message: `prometheus to scrape every job twice: ${log.slice(-2000)}`, timeoutMs: 30_000, intervalMs: 250 });

      const cpu = await query('fleet_instance_cpu_percent{job="fleet-controller"}');
      assert.equal(cpu.data.result[0]?.metric.instance, '0', `Fleet's instance label after the scrape: ${JSON.stringify(cpu.data.result)}`);
      assert.equal(cpu.data.result[0]?.metric.exported_instance, undefined);

      const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as { panels: Panel[]; templating: { list: Variable[] } };
      const jobVar = dash.templating.list.find((v) => v.name === 'job')!;
      const fill = (q: string): string =>
        q.replaceAll('$job', String(jobVar.current?.value)).replaceAll('$host', '.*').replaceAll('$app', '.*').replaceAll('$__rate_interval', '1m');
      for (const p of dash.panels.flatMap((x) => [x, ...(x.panels ?? [])])) {
        for (const target of p.targets ?? []) {
          const r = await query(fill(target.expr));
          assert.equal(r.status, 'success', `panel "${p.title}" ${target.refId}: ${r.error ?? ''} in ${target.expr}`);
          assert.ok(r.data.result.length > 0, `panel "${p.title}" ${target.refId}: no series for ${fill(target.expr)}`);
        }
      }
      for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const [, selector, label] = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(q)!;
        const r = await getJson<{ status: string; data: string[] }>(`${api}/label/${label}/values?match[]=${encodeURIComponent(fill(selector!))}`);
        assert.ok(r.body?.status === 'success' && r.body.data.length > 0, `variable ${v.name}: no values for ${q}`);
      }
    } finally {
      prom.kill('SIGKILL');
      await new Promise((r) => (prom.exitCode !== null || prom.signalCode !== null ? r(undefined) : prom.once('exit', r)));
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- the walkthrough

/** Splits a shell line into words (quotes honoured, nothing expanded). */
