'use strict';
// Log lines/s with timestamps on, 0 lost: an app prints N numbered lines in a
// tight loop (bench/apps/log-flood.js); Fleet and PM2 each write them to a log
// file with --log-date-format "YYYY-MM-DD HH:mm:ss.SSS". Lines/s = N / (first
// line landed in the file → last line landed), the file polled every 2 ms.
// Every number 0..N-1 must be there once, in order, as a whole line
// ("<timestamp>: line <n>"); anything else is reported as malformed. Interleaved per round.
// Floor: Fleet ≥ 1.2× PM2, with 0 lines lost.
const fs = require('node:fs');
const path = require('node:path');
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { sleep } = require('./lib/proc');
const { median, list, num } = require('./lib/stats');

const FLOOD_APP = path.join(__dirname, 'apps', 'log-flood.js');
const DATE_FORMAT = 'YYYY-MM-DD HH:mm:ss.SSS';
const STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/;
const FLOOR = 1.2;

/** Resolves {firstMs, lastMs} (performance.now()) when `file` ends with the last line, or on a stall. */
function watchLanding(file, lines, { stallMs = 15_000 } = {}) {
  const tail = `line ${lines - 1}\n`;
  return new Promise((resolve) => {
    let size = 0;
    let first;
    let lastGrowth = performance.now();
    const tick = () => {
      let st;
      try {
        st = fs.statSync(file);
      } catch {
        st = undefined;
      }
      const now = performance.now();
      if (st && st.size > size) {
        size = st.size;
        lastGrowth = now;
        if (first === undefined) first = now;
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(Math.min(256, size));
        fs.readSync(fd, buf, 0, buf.length, size - buf.length);
        fs.closeSync(fd);
        if (buf.toString('utf8').endsWith(tail)) return resolve({ firstMs: first, lastMs: now, complete: true });
      }
      if (now - lastGrowth > stallMs) return resolve({ firstMs: first, lastMs: lastGrowth, complete: false });
      setTimeout(tick, 2);
    };
    tick();
  });
}

/** Checks every line 0..lines-1 once and in order; counts timestamped lines. */
function verify(file, lines) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  let next = 0;
  let outOfOrder = 0;
  let stamped = 0;
  let seen = 0;
  const malformed = [];
  const got = new Uint8Array(lines);
  for (const line of text.split('\n')) {
    const m = /^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: )?line (\d+)$/.exec(line);
    if (!m) {
      if (line !== '') malformed.push(line);
      continue;
    }
    seen++;
    const n = Number(m[1]);
    if (n < lines) got[n] = 1;
    if (n !== next) outOfOrder++;
    next = n + 1;
    if (STAMP.test(line)) stamped++;
  }
  const missing = lines - got.reduce((a, b) => a + b, 0);
  return { missing, duplicates: seen - (lines - missing), outOfOrder, stamped, seen, malformed };
}

module.exports = {
  title: 'log lines/s with timestamps on, 0 lost',
  floorText: `Fleet ≥ ${FLOOR}× PM2, 0 lost`,
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 3;
    const lines = ctx.quick ? 50_000 : 200_000;
    const dir = scratch('logs');
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    const systems = [fleet, pm2];
    const rates = { Fleet: [], PM2: [] };
    const lost = { Fleet: 0, PM2: 0 };
    const unstamped = { Fleet: 0, PM2: 0 };
    const malformedTotal = { Fleet: 0, PM2: 0 };
    try {
      ctx.log(`${lines.toLocaleString('en-US')} lines per round, ${rounds} rounds, --log-date-format "${DATE_FORMAT}"`);
      for (let r = 0; r < rounds; r++) {
        const line = [];
        for (const sys of systems) {
          const name = `flood-${r}`;
          const out = path.join(dir, `${sys.name}-${name}-out.log`);
          const file = writeEcosystem(dir, `${sys.name}-${name}.config.js`, [
            appSpec({
              name,
              script: FLOOD_APP,
              env: { LINES: String(lines) },
              out_file: out,
              error_file: path.join(dir, `${sys.name}-${name}-error.log`),
              merge_logs: true,
              autorestart: false,
              // PM2 ignores --log-date-format for apps of an ecosystem file: the key too, for both.
              log_date_format: DATE_FORMAT,
            }),
          ]);
          const landed = watchLanding(out, lines);
          await sys.start(file, ['--log-date-format', DATE_FORMAT]);
          const { firstMs, lastMs, complete } = await landed;
          await sleep(300); // anything still in flight lands before the check
          const v = verify(out, lines);
          if (v.malformed.length) {
            malformedTotal[sys.name] += v.malformed.length;
            ctx.log(`${sys.name} malformed line(s): ${v.malformed.slice(0, 3).map((l) => JSON.stringify(l)).join(', ')}`);
          }
          const rate = complete ? lines / ((lastMs - firstMs) / 1000) : NaN;
          rates[sys.name].push(rate);
          lost[sys.name] += v.missing;
          unstamped[sys.name] += v.seen - v.stamped;
          line.push(
            `${sys.name} ${num(rate)} lines/s (${v.missing} missing, ${v.duplicates} duplicated, ${v.outOfOrder} out of order, ` +
              `${v.seen - v.stamped} without timestamp, ${v.malformed.length} malformed)`,
          );
          const d = await sys.cli(['delete', name]);
          if (d.code !== 0) ctx.log(`!! ${sys.name} delete ${name} exited ${d.code}: ${d.stderr.trim()}`);
          await sleep(300);
        }
        ctx.log(`round ${r + 1}: ${line.join(' | ')}`);
      }
      const m = { Fleet: median(rates.Fleet), PM2: median(rates.PM2) };
      for (const s of Object.keys(m)) ctx.log(`${s}: ${list(rates[s])} -> median ${num(m[s])} lines/s`);
      for (const s of Object.keys(m)) {
        if (unstamped[s]) ctx.note(`logs: ${s} wrote ${unstamped[s]} of ${rounds * lines} lines without a timestamp`);
        if (lost[s]) {
          const m = malformedTotal[s] ? ` (${malformedTotal[s]} malformed line(s) in the file: a line cut in two)` : '';
          ctx.note(`logs: ${s} lost ${lost[s]} of ${rounds * lines} lines${m}`);
        }
      }
      const ratio = m.Fleet / m.PM2;
      return {
        name: 'log lines/s, timestamps on (lost lines)',
        rows: ['Fleet', 'PM2'].map((system) => ({
          system,
          value: `${num(m[system])} (${lost[system]} lost)`,
          unit: '',
        })),
        floor: { text: `Fleet ≥ ${FLOOR}× PM2, 0 lost`, ratio, pass: ratio >= FLOOR && lost.Fleet === 0 },
      };
    } finally {
      await pm2.close();
      await fleet.close();
    }
  },
};
