import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { escapeHelp, escapeLabelValue, formatValue, type MetricFamily, mergeFamilies, renderPrometheus } from '../../src/http/prometheus-text';

const gauge = (name: string, samples: MetricFamily['samples'], help = `${name} help`): MetricFamily => ({ name, type: 'gauge', help, samples });

test('label values escape backslash, double quote and newline; help escapes backslash and newline only', () => {
  assert.equal(escapeLabelValue('C:\\dir "x"\nnext'), 'C:\\\\dir \\"x\\"\\nnext');
  assert.equal(escapeHelp('a \\ b\n"c"'), 'a \\\\ b\\n"c"');
});

test('special values are written as Go parses them', () => {
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(0.25), '0.25');
  assert.equal(formatValue(1e21), '1e+21');
});

test('each family: HELP, TYPE, then its samples; the text ends with a newline', () => {
  const text = renderPrometheus([
    gauge('fleet_a', [{ labels: { host: 'web1' }, value: 1 }, { labels: { host: 'web2' }, value: 2.5 }]),
    { name: 'fleet_b_total', type: 'counter', help: 'b', samples: [{ labels: {}, value: 7 }] },
  ]);
  assert.equal(
    text,
    [
      '# HELP fleet_a fleet_a help',
      '# TYPE fleet_a gauge',
      'fleet_a{host="web1"} 1',
      'fleet_a{host="web2"} 2.5',
      '# HELP fleet_b_total b',
      '# TYPE fleet_b_total counter',
      'fleet_b_total 7',
      '',
    ].join('\n'),
  );
  assert.equal(renderPrometheus([]), '');
});

test('one family per name: a name given twice is merged; given with two types it is refused', () => {
  const merged = mergeFamilies([gauge('x', [{ labels: { a: '1' }, value: 1 }]), gauge('y', []), gauge('x', [{ labels: { a: '2' }, value: 2 }])]);
  assert.deepEqual(merged.map((f) => [f.name, f.samples.length]), [['x', 2], ['y', 0]]);
  const text = renderPrometheus([gauge('x', [{ labels: {}, value: 1 }]), gauge('x', [{ labels: { a: 'b' }, value: 2 }])]);
  assert.equal(text.match(/# TYPE x /g)?.length, 1);
  assert.throws(() => renderPrometheus([gauge('x', []), { name: 'x', type: 'counter', help: '', samples: [] }]), /given as both gauge and counter/);
});

test('a family without samples keeps its HELP and TYPE', () => {
  assert.equal(renderPrometheus([gauge('fleet_none', [])]), '# HELP fleet_none fleet_none help\n# TYPE fleet_none gauge\n');
});

test('bad metric and label names are refused rather than written', () => {
  assert.throws(() => renderPrometheus([gauge('9lives', [])]), /not a metric name/);
  assert.throws(() => renderPrometheus([gauge('ok', [{ labels: { 'bad-label': 'x' }, value: 1 }])]), /not a label name/);
  assert.throws(() => renderPrometheus([gauge('ok', [{ labels: { __reserved: 'x' }, value: 1 }])]), /not a label name/);
});

test('histogram samples carry their suffix', () => {
  const text = renderPrometheus([
    {
      name: 'lat',
      type: 'histogram',
      help: 'latency',
      samples: [
        { suffix: '_bucket', labels: { le: '0.1' }, value: 2 },
        { suffix: '_bucket', labels: { le: '+Inf' }, value: 3 },
        { suffix: '_sum', labels: {}, value: 0.5 },
        { suffix: '_count', labels: {}, value: 3 },
      ],
    },
  ]);
  const [family] = parsePrometheusTextFormat(text);
  assert.equal(family!.type, 'HISTOGRAM');
  assert.deepEqual(family!.metrics, [{ buckets: { '0.1': '2', '+Inf': '3' }, sum: '0.5', count: '3' }]);
});

test('a real parser reads back what was written: escaped values, help, types, special values', () => {
  const nasty = 'a "quoted" \\ back\\slash\nand a newline';
  const text = renderPrometheus([
    gauge('fleet_x', [{ labels: { host: 'web1', app: nasty }, value: NaN }], 'help with \\ and\nnewline'),
    { name: 'fleet_y_total', type: 'counter', help: 'y', samples: [{ labels: { host: 'w' }, value: Infinity }] },
  ]);
  const parsed = parsePrometheusTextFormat(text);
  assert.deepEqual(
    parsed.map((f) => [f.name, f.type, f.help]),
    [
      ['fleet_x', 'GAUGE', 'help with \\ and\nnewline'],
      ['fleet_y_total', 'COUNTER', 'y'],
    ],
  );
  assert.deepEqual(parsed[0]!.metrics[0]!.labels, { host: 'web1', app: nasty });
  assert.equal(parsed[0]!.metrics[0]!.value, 'NaN');
  assert.equal(parsed[1]!.metrics[0]!.value, '+Inf');
});
