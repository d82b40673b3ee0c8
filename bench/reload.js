'use strict';
// Failed requests during reloads under continuous keep-alive load (16 clients
// on an http.Agent with keepAlive, each retrying 1 ms after a failure), app as
// written (on SIGINT a plain server.close()). Cluster mode 2 instances and
// fork mode 1 instance on a fixed port; `fleet reload` vs `pm2 reload`,
// interleaved per round. Then the Fleet agent is killed with SIGKILL under the
// same load and restarted by the next CLI command (`fleet ls`); PM2's God
// daemon the same way, for reference.
// Floors: Fleet 0 failed in both modes, and 0 while its agent is killed.
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { freePorts, kill, sleep, waitFor, isAlive, listProcs, descendants } = require('./lib/proc');
const { waitServing } = require('./lib/http');
const { startKeepAliveLoad } = require('./lib/load');

const CLIENTS = 16;
const BEFORE_MS = 500;
const AFTER_MS = 500;

const fmtErrors = (errors) =>
  Object.entries(errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');

function add(total, r) {
  total.ok += r.ok;
  total.failed += r.failed;
  for (const [k, v] of Object.entries(r.errors)) total.errors[k] = (total.errors[k] || 0) + v;
}

const emptyTotal = () => ({ ok: 0, failed: 0, errors: {}, reloadFailures: 0, unchanged: 0 });

async function pidsOf(sys, name) {
  if (sys.name === 'Fleet') return (await sys.ls()).filter((r) => r.app === name).map((r) => r.pid).sort();
  return (await sys.jlist()).filter((p) => p.name === name).map((p) => p.pid).sort();
}

/** One reload of `name` under load; adds to `total`. */
async function reloadUnderLoad(ctx, sys, name, port, total) {
  const before = await pidsOf(sys, name);
  const load = await startKeepAliveLoad(port, CLIENTS);
  await sleep(BEFORE_MS);
  const r = await sys.reload(name);
  await sleep(AFTER_MS);
  const res = await load.stop();
  const after = await pidsOf(sys, name);
  add(total, res);
  if (r.code !== 0) {
    total.reloadFailures++;
    ctx.log(`!! ${sys.name.toLowerCase()} reload ${name} exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  }
  const replaced = before.every((p) => !after.includes(p));
  if (!replaced) total.unchanged++;
  return `${sys.name} ${res.failed}/${res.ok + res.failed}${res.failed ? ` (${fmtErrors(res.errors)})` : ''}${
    replaced ? '' : ' [pids not replaced]'
  } in ${Math.round(r.ms)} ms`;
}

/** SIGKILL of the supervisor daemon under load on `ports`; `restart` brings it back. */
async function daemonKillUnderLoad(daemonPid, ports, restart) {
  const loads = await Promise.all(ports.map((p) => startKeepAliveLoad(p, CLIENTS)));
  await sleep(BEFORE_MS);
  kill(daemonPid, 'SIGKILL');
  await waitFor(() => !isAlive(daemonPid), { timeoutMs: 5000, intervalMs: 5, message: `daemon ${daemonPid} to die` });
  const r = await restart();
  await sleep(AFTER_MS * 2);
  const total = { ok: 0, failed: 0, errors: {} };
  for (const l of loads) add(total, await l.stop());
  return { total, restart: r };
}

module.exports = {
  title: `failed requests during reloads under keep-alive load (${CLIENTS} clients)`,
  floorText: 'Fleet 0 failed',
  async run(ctx) {
    const reloads = ctx.quick ? 2 : 5;
    const agentKills = ctx.quick ? 1 : 3;
    const dir = scratch('reload');
    const [fc, ff, pc, pf] = await freePorts(4);
    const ports = { Fleet: { cluster: fc, fork: ff }, PM2: { cluster: pc, fork: pf } };
    const specs = (p) => [
      appSpec({ name: 'rl-cluster', port: p.cluster, instances: 2, mode: 'cluster' }),
      appSpec({ name: 'rl-fork', port: p.fork, instances: 1, mode: 'fork' }),
    ];
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    try {
      await fleet.start(writeEcosystem(dir, 'fleet.config.js', specs(ports.Fleet)));
      await pm2.start(writeEcosystem(dir, 'pm2.config.js', specs(ports.PM2)));
      await waitServing([fc, ff, pc, pf]);
      const systems = [fleet, pm2];
      const totals = { cluster: { Fleet: emptyTotal(), PM2: emptyTotal() }, fork: { Fleet: emptyTotal(), PM2: emptyTotal() } };

      for (let i = 0; i < reloads; i++) {
        for (const mode of ['cluster', 'fork']) {
          const line = [];
          for (const sys of systems) {
            line.push(await reloadUnderLoad(ctx, sys, `rl-${mode}`, ports[sys.name][mode], totals[mode][sys.name]));
          }
          ctx.log(`reload ${i + 1} ${mode}: ${line.join(' | ')}`);
        }
      }

      const results = [];
      for (const mode of ['cluster', 'fork']) {
        const t = totals[mode];
        for (const s of ['Fleet', 'PM2']) {
          ctx.log(`${mode} ${s}: ${t[s].failed}/${t[s].ok + t[s].failed} failed${t[s].failed ? ` (${fmtErrors(t[s].errors)})` : ''}`);
        }
        const f = t.Fleet;
        const broken = f.reloadFailures ? `, ${f.reloadFailures} reload(s) exited non-zero` : '';
        const same = f.unchanged ? `, ${f.unchanged} reload(s) left pids unchanged` : '';
        if (broken || same) ctx.note(`reload ${mode}: Fleet${broken}${same}`);
        results.push({
          name: `failed requests, ${reloads} reloads, ${mode} mode (${mode === 'cluster' ? 2 : 1} inst.)`,
          rows: ['Fleet', 'PM2'].map((system) => ({
            system,
            value: `${t[system].failed}/${t[system].ok + t[system].failed}`,
            unit: '',
          })),
          floor: {
            text: 'Fleet 0 failed',
            ratio: '—',
            pass: f.failed === 0 && f.reloadFailures === 0 && f.unchanged === 0,
          },
        });
      }

      // The Fleet agent killed with SIGKILL under load, restarted by the next command.
      const fleetTotal = { ok: 0, failed: 0, errors: {} };
      let readopted = true;
      for (let k = 0; k < agentKills; k++) {
        const daemon = await fleet.daemonPid();
        if (!daemon) throw new Error('fleet ping --json gave no daemon pid');
        const before = (await fleet.ls()).map((r) => `${r.app}#${r.instance}:${r.pid}:${r.restarts}`).sort();
        const { total, restart } = await daemonKillUnderLoad(daemon, [fc, ff], async () => {
          const r = await fleet.cli(['ls', '--json']);
          if (r.code !== 0) throw new Error(`fleet ls after kill -9 of the agent exited ${r.code}: ${r.stderr.trim()}`);
          return JSON.parse(r.stdout);
        });
        const after = restart.map((r) => `${r.app}#${r.instance}:${r.pid}:${r.restarts}`).sort();
        const same = JSON.stringify(before) === JSON.stringify(after);
        if (!same) readopted = false;
        add(fleetTotal, total);
        const newPid = await fleet.daemonPid();
        ctx.log(
          `agent kill -9 ${k + 1}: Fleet ${total.failed}/${total.ok + total.failed}${
            total.failed ? ` (${fmtErrors(total.errors)})` : ''
          }; agent ${daemon} -> ${newPid}; instances ${same ? 're-adopted (same pids, restarts)' : `CHANGED: ${before} -> ${after}`}`,
        );
      }
      if (!readopted) ctx.note('agent kill -9: the restarted agent did not show the same pids/restart counts');

      // PM2 for reference: its God daemon killed the same way, `pm2 ping` starts a new one.
      const god = pm2.daemonPid();
      const pm2Apps = god ? descendants(god) : [];
      const { total: pm2Total } = await daemonKillUnderLoad(god, [pc, pf], () => pm2.cli(['ping']));
      const alive = new Set(listProcs().map((p) => p.pid));
      const orphans = pm2Apps.filter((p) => alive.has(p.pid));
      ctx.log(
        `PM2 God daemon kill -9: ${pm2Total.failed}/${pm2Total.ok + pm2Total.failed}${
          pm2Total.failed ? ` (${fmtErrors(pm2Total.errors)})` : ''
        }; apps after: ${(await pm2.jlist()).length} listed, ${orphans.length} orphaned process(es) left running`,
      );
      for (const p of orphans) kill(p.pid);

      results.push({
        name: `failed requests, supervisor kill -9 under load (×${agentKills} Fleet, ×1 PM2)`,
        rows: [
          { system: 'Fleet', value: `${fleetTotal.failed}/${fleetTotal.ok + fleetTotal.failed}`, unit: '' },
          { system: 'PM2', value: `${pm2Total.failed}/${pm2Total.ok + pm2Total.failed}`, unit: '' },
        ],
        floor: { text: 'Fleet 0 failed', ratio: '—', pass: fleetTotal.failed === 0 && readopted },
      });
      return results;
    } finally {
      await pm2.close();
      await fleet.close();
    }
  },
};
