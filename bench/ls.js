'use strict';
// `fleet ls --json` vs `pm2 jlist` with 50 apps: wall time of the whole CLI
// process (spawn included), interleaved, median of 10 each. The table forms
// (`fleet ls`, `pm2 ls`) are printed for reference.
// Floor: Fleet ≤ 0.6× PM2.
const { startFiftyApps } = require('./lib/fifty-apps');
const { median, list, num } = require('./lib/stats');

const FLOOR = 0.6;

module.exports = {
  title: '`fleet ls` vs `pm2 jlist` wall time with 50 apps (ms, median)',
  floorText: `Fleet ≤ ${FLOOR}× PM2`,
  needs: ['apps50'],
  async run(ctx) {
    const runs = ctx.quick ? 5 : 10;
    const fx = await ctx.shared.get('apps50', () => startFiftyApps(ctx.log));
    const { fleet, pm2, count } = fx;
    const cmds = [
      { key: 'fleet ls --json', sys: fleet, args: ['ls', '--json'] },
      { key: 'pm2 jlist', sys: pm2, args: ['jlist'] },
      { key: 'fleet ls', sys: fleet, args: ['ls'] },
      { key: 'pm2 ls', sys: pm2, args: ['ls'] },
    ];
    const times = Object.fromEntries(cmds.map((c) => [c.key, []]));
    // one unmeasured run each (file caches)
    for (const c of cmds) await c.sys.cli(c.args);
    for (let i = 0; i < runs; i++) {
      for (const c of cmds) {
        const r = await c.sys.cli(c.args);
        if (r.code !== 0) throw new Error(`${c.key} exited ${r.code}: ${r.stderr.trim()}`);
        if (c.key === 'fleet ls --json' && i === 0) {
          const rows = JSON.parse(r.stdout).length;
          if (rows !== count) ctx.note(`fleet ls --json listed ${rows} rows for ${count} apps`);
        }
        times[c.key].push(r.ms);
      }
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
    for (const k of Object.keys(times)) ctx.log(`${k}: ${list(times[k])} -> median ${num(m[k])} ms`);
    const ratio = m['fleet ls --json'] / m['pm2 jlist'];
    ctx.note(`ls tables (reference): fleet ls ${num(m['fleet ls'])} ms, pm2 ls ${num(m['pm2 ls'])} ms`);
    return {
      name: '`fleet ls --json` vs `pm2 jlist`, 50 apps',
      rows: [
        { system: 'Fleet', value: m['fleet ls --json'], unit: 'ms' },
        { system: 'PM2', value: m['pm2 jlist'], unit: 'ms' },
      ],
      floor: { text: `Fleet ≤ ${FLOOR}× PM2`, ratio, pass: ratio <= FLOOR },
    };
  },
};
