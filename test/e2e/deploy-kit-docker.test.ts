// deploy/docker: the Dockerfiles parsed and checked for what matters.
// Each check skips loudly (never silently) when its tool is absent.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../harness';
import { DOCKERFILES, assertFleetCommand, execForm, healthcheck, inRepo, parseDockerfile, read } from '../deploy-kit/kit';

describe('deploy/docker', () => {
  for (const [role, file] of Object.entries(DOCKERFILES)) {
    test(`${file}: node:20-slim, npm ci without scripts, non-root, volume, healthcheck`, () => {
      const stages = parseDockerfile(read(file));
      for (const stage of stages) {
        const image = stage[0]!.args.split(/\s+/)[0];
        assert.equal(image, 'node:20-slim', `${file}: every stage FROM node:20-slim`);
      }
      const runs = stages.flat().filter((i) => i.op === 'RUN').map((i) => i.args);
      assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), `${file}: installs with npm ci (the lockfile, exactly)`);
      for (const r of runs) {
        assert.doesNotMatch(r, /\bnpm (install|i|add)\b|\byarn\b|\bpnpm\b/, `${file}: no npm install: ${r}`);
        for (const m of r.matchAll(/\bnpm (ci|prune)\b[^&;|]*/g)) {
          assert.match(m[0], /--ignore-scripts/, `${file}: dependencies' install scripts must not run: ${m[0]}`);
        }
      }
      for (const c of stages.flat().filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))) {
        const srcs = c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
        for (const s of srcs) assert.ok(fs.existsSync(path.join(ROOT, s)), `${file}: COPY ${s}: not in the build context (the repository)`);
      }
      const last = stages.at(-1)!;
      const users = last.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]!.trim());
      assert.ok(users.length > 0, `${file}: the final stage sets a USER`);
      assert.ok(!['root', '0'].includes(users.at(-1)!), `${file}: runs as ${users.at(-1)}, not root`);
      const userIndex = last.findLastIndex((i) => i.op === 'USER');
      assert.ok(last.findIndex((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD') > userIndex, `${file}: USER comes before ENTRYPOINT/CMD`);
      const volumes = last.filter((i) => i.op === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? execForm(i.args, 'VOLUME') : i.args.split(/\s+/)));
      assert.ok(volumes.includes('/var/lib/fleet'), `${file}: VOLUME /var/lib/fleet (data / FLEET_HOME)`);
      assert.ok(last.some((i) => i.op === 'ENV' && /\bFLEET_HOME=\/var\/lib\/fleet\b/.test(i.args)), `${file}: ENV FLEET_HOME=/var/lib/fleet`);
      const hc = healthcheck(file);
      for (const w of hc) if (w.startsWith('/opt/fleet/')) assert.ok(fs.existsSync(inRepo(w)), `${file}: HEALTHCHECK uses ${w}, not in the repository`);
      const entry = execForm(last.find((i) => i.op === 'ENTRYPOINT')!.args, `${file} ENTRYPOINT`);
      assert.ok(entry.includes('/opt/fleet/packages/cli/bin/fleet.js'), `${file}: ENTRYPOINT runs the fleet CLI`);
      const cmd = execForm(last.find((i) => i.op === 'CMD')!.args, `${file} CMD`);
      assert.equal(cmd[0], role);
      assertFleetCommand(cmd, `${file} CMD`);
      if (role === 'agent') assert.ok(/tini|dumb-init/.test(entry[0]!), `${file}: PID 1 is an init that reaps the apps' orphans, not node`);
      const ignore = read(`${file}.dockerignore`).split('\n').map((l) => l.trim());
      for (const must of ['**/node_modules', '**/dist', '.git', 'deploy/secrets']) {
        assert.ok(ignore.includes(must), `${file}.dockerignore leaves out ${must}`);
      }
    });
  }
});

// ---------------------------------------------------------------- the units and images, run

