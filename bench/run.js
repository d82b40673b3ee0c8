#!/usr/bin/env node
'use strict';
// Fleet vs PM2 vs plain node:cluster, same app, same run, interleaved round by
// round so machine drift hits all alike.
//   node bench/run.js                  every bench
//   node bench/run.js reload memory    only these (by name or prefix)
//   node bench/run.js --quick          fewer/shorter rounds (a smoke run)
// Prints figures as it goes, then a markdown table (also bench/results/latest.md).
// Exit code: 0 when every floor passes, 1 when one fails or a bench errors.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const proc = require('./lib/proc');
const { ROOT, MARK, removeScratch } = require('./lib/apps');
const { Pm2 } = require('./lib/pm2');
const { throughputGenerator } = require('./lib/load');
const report = require('./lib/report');

const BENCHES = ['throughput', 'recovery', 'reload', 'memory', 'idle-cpu', 'ls', 'logs', 'controller-scale', 'log-latency', 'nats-logs', 'metrics-cost', 'deploy-overhead'];

function parseArgs(argv) {
  const opts = { quick: false, names: [] };
  for (const a of argv) {
    if (a === '--quick' || a === '-q') opts.quick = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a} (try --help)`);
    else opts.names.push(a);
  }
  return opts;
}

function select(names) {
  if (names.length === 0) return BENCHES;
  const picked = [];
  for (const n of names) {
    const hits = BENCHES.filter((b) => b === n || b.startsWith(n));
    if (hits.length === 0) throw new Error(`no bench named "${n}" (have: ${BENCHES.join(', ')})`);
    for (const h of hits) if (!picked.includes(h)) picked.push(h);
  }
  return BENCHES.filter((b) => picked.includes(b));
}

function ensureBuilt() {
  const needed = ['packages/cli/dist/src/main.js', 'packages/agent/dist/src/daemon-main.js'];
  if (needed.every((f) => fs.existsSync(path.join(ROOT, f)))) return;
  console.log('[bench] dist/ missing: npx tsc -b');
  execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' });
}

/** Fixtures several benches share (50 apps), closed after the last bench needing them. */
function sharedFixtures(order, modules) {
  const made = new Map();
  return {
    get(key, factory) {
      if (!made.has(key)) made.set(key, factory());
      return made.get(key);
    },
    async release(doneIndex) {
      for (const [key, promise] of made) {
        const later = order.slice(doneIndex + 1).some((n) => (modules[n].needs || []).includes(key));
        if (later) continue;
        made.delete(key);
        const fixture = await promise.catch(() => undefined);
        if (fixture) await fixture.close();
      }
    },
  };
}

async function sweepLeftovers() {
  const left = proc.procsWithEnv(MARK);
  for (const pid of left) {
    process.stderr.write(`[bench] leftover app process ${pid}: SIGKILL\n`);
    proc.kill(pid);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(`usage: node bench/run.js [--quick] [${BENCHES.join('|')} …]`);
    return 0;
  }
  const order = select(opts.names);
  const startedAt = Date.now();
  proc.installSignalCleanup();
  // Registered first, so run last: after every fleet kill / pm2 kill / primary stop.
  proc.onCleanup(async () => {
    await sweepLeftovers();
    removeScratch();
  });
  ensureBuilt();
  const modules = Object.fromEntries(order.map((n) => [n, require(`./${n}.js`)]));

  // Everything the benches need, before the first figure.
  new Pm2(); // installs PM2 into bench/.pm2-bench when missing
  const loadGenerator = order.includes('throughput') ? throughputGenerator() : undefined;
  console.log(`# Fleet bench${opts.quick ? ' (--quick)' : ''}: ${order.join(', ')}`);
  console.log(`machine: ${report.machine()}; PM2 ${Pm2.version()}${loadGenerator ? `; load: ${loadGenerator}` : ''}`);

  const shared = sharedFixtures(order, modules);
  const results = [];
  const notes = [];
  for (let i = 0; i < order.length; i++) {
    const name = order[i];
    const mod = modules[name];
    const t0 = Date.now();
    console.log(`\n## ${name} — ${mod.title}`);
    const ctx = {
      quick: opts.quick,
      shared,
      log: (...a) => console.log('  ', ...a),
      note: (n) => notes.push(n),
    };
    try {
      const out = await mod.run(ctx);
      for (const r of [].concat(out)) {
        results.push(r);
        const f = r.floor || {};
        console.log(`  => ${r.name}: ${r.rows.map((x) => `${x.system} ${typeof x.value === 'number' ? x.value.toFixed(x.value < 10 ? 2 : 0) : x.value}${x.unit ? ` ${x.unit}` : ''}`).join(' | ')}  [${f.text || 'no floor'}: ${typeof f.ratio === 'number' ? `${f.ratio.toFixed(2)}×` : f.ratio || '—'} ${report.verdict(r.floor)}]`);
      }
    } catch (err) {
      console.log(`  !! ${name} failed: ${err.stack || err.message}`);
      results.push({ name, rows: [], floor: { text: (mod.floorText || '—'), pass: false }, error: err.message });
      notes.push(`${name}: ERROR — ${err.message.split('\n')[0]}`);
    }
    await shared.release(i);
    console.log(`  (${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await proc.runCleanups();

  const elapsedMs = Date.now() - startedAt;
  const { file, md } = report.writeLatest(results, {
    startedAt,
    elapsedMs,
    quick: opts.quick,
    pm2Version: Pm2.version(),
    loadGenerator,
    notes,
  });
  console.log(`\n${md}`);
  console.log(`(written to ${path.relative(process.cwd(), file)}; ${(elapsedMs / 1000).toFixed(0)} s in all)`);
  return results.some((r) => r.error || (r.floor && r.floor.pass === false)) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    console.error(`bench failed: ${err.stack || err.message}`);
    await proc.runCleanups();
    process.exitCode = 1;
  },
);
