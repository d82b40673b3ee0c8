'use strict';
// The shape every bench returns, and the final markdown table.
//   result = { name, rows: [{system, value, unit, note?}], floor: {text, ratio, pass} }
//   floor.pass: true / false, or null for a figure without a floor (informational).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { num } = require('./stats');

const SYSTEMS = ['Fleet', 'PM2', 'node:cluster'];

function cell(result, system) {
  const row = result.rows.find((r) => r.system === system);
  if (!row) return '—';
  const v = typeof row.value === 'string' ? row.value : num(row.value);
  return `${v}${row.unit ? ` ${row.unit}` : ''}`;
}

function verdict(floor) {
  if (!floor) return 'info';
  if (floor.pass === true) return 'PASS';
  if (floor.pass === false) return 'FAIL';
  return 'info';
}

function table(results) {
  const lines = [
    '| benchmark | Fleet | PM2 | node:cluster | floor | ratio | result |',
    '|---|---:|---:|---:|---|---:|:---:|',
  ];
  for (const r of results) {
    const f = r.floor || {};
    const ratio = typeof f.ratio === 'number' && Number.isFinite(f.ratio) ? `${f.ratio.toFixed(2)}×` : f.ratio || '—';
    lines.push(
      `| ${r.name} | ${SYSTEMS.map((s) => cell(r, s)).join(' | ')} | ${f.text || '—'} | ${ratio} | ${
        r.error ? 'ERROR' : verdict(r.floor)
      } |`,
    );
  }
  return lines.join('\n');
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0] ? cpus[0].model.trim() : 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${
    process.version
  }, ${os.type()} ${os.release()}`;
}

function writeLatest(results, { startedAt, elapsedMs, quick, pm2Version, loadGenerator, notes }) {
  const dir = path.join(__dirname, '..', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const md = [
    `# Fleet bench — ${new Date(startedAt).toISOString()}${quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${machine()}. PM2 ${pm2Version || '?'}. Load generator: ${loadGenerator || '—'}. ` +
      `Run took ${(elapsedMs / 1000).toFixed(0)} s. Systems interleaved round by round (throughput: order rotating per round).`,
    '',
    table(results),
    '',
    ...(notes && notes.length ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  const file = path.join(dir, 'latest.md');
  fs.writeFileSync(file, md);
  return { file, md };
}

module.exports = { table, writeLatest, machine, verdict };
