// deploy/systemd units: systemd-analyze verify, the settings that matter, flags against --help.
// Each check skips loudly (never silently) when its tool is absent.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../harness';
import { DEPLOY, UNITS, assertFleetCommand, loud, one, parseEnvFile, parseUnit, read, systemdExpand, systemdSplit, unitEnvironment, values, which } from '../deploy-kit/kit';

describe('deploy/systemd units', () => {
  for (const name of UNITS) {
    test(`${name}.service: the settings that matter`, () => {
      const unit = parseUnit(read(`systemd/${name}.service`));
      const svc = (key: string): string | undefined => one(unit, 'Service', key);
      assert.ok(['simple', 'exec'].includes(svc('Type') ?? 'simple'), `Type=${svc('Type')}: simple or exec (no sd_notify from Node)`);
      assert.ok(values(unit, 'Service', 'ExecStartPost').length > 0, 'a readiness check in ExecStartPost=');
      assert.equal(svc('Restart'), 'on-failure');
      assert.ok(svc('User') && !['root', '0'].includes(svc('User')!), `a dedicated user, not ${svc('User')}`);
      assert.equal(svc('StateDirectory'), 'fleet', '/var/lib/fleet created for the user');
      assert.equal(unitEnvironment(unit).FLEET_HOME, '/var/lib/fleet');
      const envFile = svc('EnvironmentFile')!.replace(/^-/, '');
      assert.equal(envFile, `/etc/fleet/${name.replace('fleet-', '')}.env`);
      assert.ok(fs.existsSync(path.join(DEPLOY, 'systemd', path.basename(envFile))), `deploy/systemd/${path.basename(envFile)} ships the env file`);
      assert.notEqual(svc('MemoryDenyWriteExecute'), 'yes', "V8's JIT needs writable executable memory");
      const exec = systemdSplit(svc('ExecStart')!);
      assert.deepEqual(exec.slice(0, 2), ['/usr/bin/node', '/opt/fleet/packages/cli/bin/fleet.js']);
      assert.ok(fs.existsSync(path.join(ROOT, 'packages/cli/bin/fleet.js')));
      assert.ok(one(unit, 'Install', 'WantedBy') === 'multi-user.target');
      if (name === 'fleet-agent') {
        assert.equal(svc('KillMode'), 'process', 'restarting the agent must kill no app');
        assert.equal(svc('OOMPolicy'), 'continue', 'an app killed by the OOM killer must not stop the agent');
        for (const key of ['PrivateTmp', 'ProtectHome', 'RuntimeDirectory', 'PrivateDevices', 'DynamicUser']) {
          const v = svc(key);
          assert.ok(v === undefined || /^(no|false|0)$/.test(v), `${key}=${v} on the agent breaks the apps it runs (they inherit it, and outlive the agent)`);
        }
      } else {
        assert.ok(exec.includes('--data') && exec[exec.indexOf('--data') + 1] === '/var/lib/fleet/controller',
          'the controller keeps its data apart from an agent FLEET_HOME on the same machine');
        assert.notEqual(svc('KillMode'), 'none');
      }
    });

    test(`${name}.service: ExecStart and the env file use only flags \`fleet --help\` lists`, () => {
      const unit = parseUnit(read(`systemd/${name}.service`));
      const env = { ...unitEnvironment(unit), ...parseEnvFile(read(`systemd/${name.replace('fleet-', '')}.env`)) };
      const words = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStart')!), env);
      assertFleetCommand(words.slice(2), `${name}.service ExecStart with ${name.replace('fleet-', '')}.env`);
    });
  }

  test('systemd-analyze verify accepts both units without a warning', (t) => {
    const analyze = which('systemd-analyze');
    if (!analyze) {
      loud(t, 'systemd-analyze is not installed: the unit files were not verified');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-units-'));
    try {
      // verify checks that ExecStart*= binaries exist: point them at this machine's node and checkout.
      const copy = (name: string, text = read(`systemd/${name}.service`)): string => {
        const file = path.join(dir, `${name}.service`);
        fs.writeFileSync(file, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/fleet', ROOT));
        return file;
      };
      const verify = (files: string[]) => spawnSync(analyze, ['verify', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
      // This systemd reports a bad setting (a warning, exit 0): so any output counts as a failure below.
      const broken = verify([copy('broken', read('systemd/fleet-agent.service').replace(/^KillMode=process$/m, 'KillMode=proces'))]);
      assert.match(broken.stdout + broken.stderr, /kill mode/i, 'systemd-analyze verify no longer reports a bad KillMode: this check would prove nothing');
      const r = verify(UNITS.map((n) => copy(n)));
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal((r.stdout + r.stderr).trim(), '', `systemd-analyze verify warned:\n${r.stdout}${r.stderr}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- Dockerfiles

