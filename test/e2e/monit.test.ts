// fleet monit in a real terminal: tmux runs it against a real controller and
// three real agents, the test reads the screen (capture-pane) and types keys
// (send-keys) as a person would, then checks that q gave the terminal back.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_APP, FLEET_BIN, ROOT, waitFor } from '../harness';
import { FleetCluster } from '../fleet-cluster';

const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;
if (!HAS_TMUX) console.error('\n*** tmux is not installed: the fleet monit e2e test is SKIPPED (apt-get install tmux) ***\n');

const SOCKET = `fleet-monit-${process.pid}`;
const SESSION = 'monit';

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const screen = (): string => tmux('capture-pane', '-p', '-t', SESSION);
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('fleet monit in a terminal', { skip: !HAS_TMUX && 'tmux is not installed', timeout: 60_000 }, () => {
  const c = new FleetCluster(300);

  before(async () => {
    await c.startController();
    await Promise.all(['web1', 'web2', 'web3'].map((name) => c.startAgent({ name })));
    const config = path.join(c.dir, 'monit.config.js');
    fs.writeFileSync(
      config,
      `module.exports = { apps: [
        { name: 'api', script: ${JSON.stringify(FIXTURE_APP)}, instances: 2, exec_mode: 'fork', env: { NO_LISTEN: '1' } },
        { name: 'printer', script: ${JSON.stringify(FIXTURE_APP)}, env: { NO_LISTEN: '1', LOG_LINES_PER_S: '100' } },
      ] };`,
    );
    const r = c.fleet(['start', config, '--hosts', 'web1,web2,web3']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    // The server's socket file can outlive it.
    fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
    await c.cleanup();
  });

  test('shows every host and process, follows the keys, and q restores the terminal', async () => {
    const env = `FLEET_HOME=${quote(c.laptop.home)} FLEET_CONTEXT= NO_COLOR=1`;
    // After monit: its exit code and the terminal modes it left, then a pause that keeps the pane to read.
    const cmd = `cd ${quote(ROOT)} && ${env} ${quote(process.execPath)} ${quote(FLEET_BIN)} monit --context test; echo "monit exited $?"; stty -a; sleep 600`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '160', '-y', '50', cmd);

    // Every host, and every process of each, online.
    await waitFor(
      () => {
        const s = screen();
        return ['web1', 'web2', 'web3'].every(
          (h) => new RegExp(`^ {2}${h} +ready `, 'm').test(s) && ['api +0', 'api +1', 'printer +0'].every((p) => new RegExp(`^[ >] ${h} +${p} +online `, 'm').test(s)),
        );
      },
      { message: 'the three hosts and their processes on screen', timeoutMs: 15_000, intervalMs: 100 },
    );
    let s = screen();
    assert.match(s, /^fleet monit · test · 3 hosts, 3 ready · 9 processes, 9 online/m);
    assert.match(s, /^> web1 +api +0 +online/m, 'the first process selected');
    assert.match(s, /^LOGS · api$/m);
    assert.equal(s.split('\n').filter((l) => l.startsWith('>')).length, 1, 'one selection');
    assert.match(s.split('\n')[49], /q quit/, 'the footer on the last of the 50 rows');

    tmux('send-keys', '-t', SESSION, 'Down');
    await waitFor(() => /^> web1 +api +1 /m.test(screen()), { message: 'the selection to move down', timeoutMs: 5000 });
    assert.match(screen(), /^ {2}web1 +api +0 /m, 'the previous row unselected');

    // To the next app: its metrics and its own log lines, from a new stream.
    tmux('send-keys', '-t', SESSION, 'j');
    await waitFor(() => /^> web1 +printer +0 /m.test(screen()) && /^web\d\/printer#0 \| line \d+$/m.test(screen()), { message: 'printer selected, its lines shown', timeoutMs: 5000 });
    s = screen();
    assert.match(s, /^METRICS · printer on web1$/m);
    assert.match(s, /^LOGS · printer$/m);
    assert.doesNotMatch(s, /\/api#\d \|/, 'no line of another app');

    // A smaller window: redrawn to its size, the footer on its last row.
    tmux('resize-window', '-t', SESSION, '-x', '90', '-y', '24');
    await waitFor(
      () => {
        const lines = screen().split('\n');
        return lines.length >= 24 && /q quit/.test(lines[23]) && /^fleet monit .* \d\d:\d\d:\d\d$/.test(lines[0]) && lines[0].length === 90;
      },
      { message: 'the screen redrawn at 90x24', timeoutMs: 5000 },
    );
    assert.match(screen(), /^> web1 +printer +0 /m, 'the selection kept');

    tmux('send-keys', '-t', SESSION, 'q');
    await waitFor(() => /monit exited 0/.test(screen()), { message: 'monit to exit', timeoutMs: 5000 });
    const after = screen();
    assert.doesNotMatch(after, /PROCESSES/, 'back on the main screen');
    assert.match(after, /(^|\s)icanon(\s|$)/m, 'cooked mode again');
    assert.match(after, /(^|\s)echo(\s|$)/m, 'echo again');
    assert.equal(tmux('display-message', '-p', '-t', SESSION, '#{alternate_on} #{cursor_flag}').trim(), '0 1', 'main screen, cursor shown');
  });
});
