'use strict';
// 50 idle apps (NO_LISTEN=1, fork mode) under Fleet and under PM2, side by
// side; shared by idle-cpu and ls (run.js closes it after the last of them).
const { Fleet } = require('./fleet');
const { Pm2 } = require('./pm2');
const { appSpec, writeEcosystem, scratch } = require('./apps');
const { sleep } = require('./proc');

const COUNT = 50;

async function startFiftyApps(log) {
  const dir = scratch('fifty');
  const specs = Array.from({ length: COUNT }, (_, i) => appSpec({ name: `idle-${i}`, env: { NO_LISTEN: '1' } }));
  const file = writeEcosystem(dir, 'ecosystem.config.js', specs);
  const fleet = new Fleet();
  let pm2;
  try {
    pm2 = await new Pm2().fresh();
    const f = await fleet.start(file);
    const p = await pm2.start(file);
    const fleetRows = await fleet.ls();
    const pm2Rows = await pm2.jlist();
    const fOnline = fleetRows.filter((r) => r.status === 'online').length;
    const pOnline = pm2Rows.filter((r) => r.pm2_env && r.pm2_env.status === 'online').length;
    log(
      `started ${COUNT} apps from one ecosystem file: fleet start ${(f.ms / 1000).toFixed(1)} s (${fOnline} online), ` +
        `pm2 start ${(p.ms / 1000).toFixed(1)} s (${pOnline} online)`,
    );
    if (fOnline !== COUNT || pOnline !== COUNT) {
      await sleep(3000);
    }
    return {
      count: COUNT,
      fleet,
      pm2,
      async close() {
        await pm2.close();
        await fleet.close();
      },
    };
  } catch (err) {
    if (pm2) await pm2.close();
    await fleet.close();
    throw err;
  }
}

module.exports = { startFiftyApps, COUNT };
