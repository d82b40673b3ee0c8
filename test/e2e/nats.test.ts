// NATS as the data plane, against a real nats-server: three agents publish
// their logs and events, two controllers share them through the queue group
// (each message taken by exactly one, counted from the controllers' traces),
// and `fleet logs -f` on either controller shows every line once. A NATS
// restart mid-stream loses nothing that fits in an agent's buffer; a host with
// a small buffer reports what it dropped. gRPC alone is covered by the other
// e2e files, unchanged.
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_APP, FLEET_BIN, freePort, ROOT, waitFor } from '../harness';
import { FleetCluster, type HostRow } from '../fleet-cluster';
import { NATS_SKIP, NatsServer } from '../nats-server';

interface JsonLine {
  host: string;
  app: string;
  line: string;
  dropped?: number;
}

/** `fleet logs -f --json` output, parsed as far as it is complete. */
function parse(out: string): JsonLine[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);
}

/** host -> line number -> times seen, for lines "line <n>" of one app. */
function counts(lines: JsonLine[], app: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const l of lines) {
    const m = /^line (\d+)$/.exec(l.line);
    if (l.app !== app || !m) continue;
    const byHost = out.get(l.host) ?? new Map<number, number>();
    byHost.set(Number(m[1]), (byHost.get(Number(m[1])) ?? 0) + 1);
    out.set(l.host, byHost);
  }
  return out;
}

interface Taken {
  controller: string;
  kind: string;
  host: string;
  app?: string;
  key: string;
  lines: number;
}

/** What a controller's FLEET_TRACE=nats says it took from the queue group. */
function taken(controller: string, log: string): Taken[] {
  const out: Taken[] = [];
  const re = /nats: took fleet\.e2e\.(logs|events)\.([^.\s#]+)(?:\.([^.\s#]+))? #(\d+) of agent (\S+?)(?: \(resent\))?: (?:(\d+) lines)?/g;
  for (const m of log.matchAll(re)) {
    out.push({ controller, kind: m[1], host: m[2], app: m[3], key: `${m[5]}#${m[4]}`, lines: Number(m[6] ?? 0) });
  }
  return out;
}

function writeConfig(dir: string, name: string, env: Record<string, string>): string {
  const file = path.join(dir, `${name}.config.js`);
  fs.writeFileSync(file, `module.exports = { apps: [{ name: ${JSON.stringify(name)}, script: ${JSON.stringify(FIXTURE_APP)}, env: ${JSON.stringify({ NO_LISTEN: '1', ...env })} }] };\n`);
  return file;
}

function lineCount(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

describe('NATS data plane', { timeout: 90_000, skip: NATS_SKIP }, () => {
  const c = new FleetCluster(300);
  let nats: NatsServer;
  let second: ChildProcess | undefined;
  let secondLog = '';
  let secondAddress = '';
  let natsArgs: string[] = [];

  before(async () => {
    // The controllers trace each message they take (spawned with this environment).
    process.env.FLEET_TRACE = 'nats';
    nats = await NatsServer.start({ jetstream: true });
    natsArgs = ['--nats', nats.url, '--nats-cluster', 'e2e'];
    await c.startController([...natsArgs, '--nats-logs-retention', '1h']);
    await waitFor(() => /log stream FLEET_e2e_LOGS created/.test(c.controllerLog), { message: 'controller A on NATS with its log stream' });

    // A second controller of the same fleet: its own port, data and hosts, the same NATS.
    secondAddress = `127.0.0.1:${await freePort()}`;
    second = spawn(
      process.execPath,
      [
        FLEET_BIN, 'controller', '--listen', secondAddress, '--data', path.join(c.dir, 'data-b'), '--heartbeat', `${c.heartbeatMs}ms`,
        '--seed-token', `operator:${c.tokenFile('operator')}`, '--seed-token', `agent:${c.tokenFile('agent')}`,
        ...natsArgs,
      ],
      { cwd: ROOT, env: { ...process.env, FLEET_HOME: path.join(c.dir, 'ctl-home-b'), NO_COLOR: '1' } },
    );
    second.stdout!.on('data', (d) => (secondLog += d));
    second.stderr!.on('data', (d) => (secondLog += d));
    await waitFor(() => secondLog.includes('taking fleet.e2e') || second!.exitCode !== null, { message: 'controller B on NATS' });
    assert.equal(second.exitCode, null, secondLog);
    assert.equal(c.fleet(['context', 'add', 'b', '--controller', secondAddress, '--insecure', '--token-file', c.tokenFile('operator')]).code, 0);

    // web1 and web2 link to A, web3 (a small buffer) to B; all three publish to NATS.
    await Promise.all([c.startAgent({ name: 'web1', args: natsArgs }), c.startAgent({ name: 'web2', args: natsArgs })]);
    await c.startAgent({ name: 'web3', args: [...natsArgs, '--controller', secondAddress, '--log-buffer', '50'] }, { wait: false });
    await waitFor(
      () => {
        const r = c.fleet(['hosts', '--json', '--context', 'b']);
        return r.code === 0 && r.json<HostRow[]>().some((h) => h.name === 'web3' && h.status === 'ready');
      },
      { message: 'web3 ready on controller B' },
    );
  });

  after(async () => {
    if (second && second.exitCode === null) {
      const exited = new Promise((r) => second!.once('exit', r));
      second.kill('SIGKILL');
      await exited;
    }
    await c.cleanup();
    await nats?.cleanup();
  });

  test('three agents, two controllers: each line and event taken by exactly one, every line followed on both', async () => {
    const N = 400;
    // Followers first; their backlog (the windows of both controllers) covers any line before their subscription.
    const followA = c.spawnFleet(['logs', '-f', '--lines', '100000', '--json']);
    const followB = c.spawnFleet(['logs', '-f', '--lines', '100000', '--json', '--context', 'b']);
    const config = writeConfig(c.dir, 'counter', { LOG_LINES_PER_S: '200', LOG_LINES: String(N) });
    assert.equal(c.fleet(['start', config, '--hosts', 'web1,web2']).code, 0);
    assert.equal(c.fleet(['start', config, '--hosts', 'web3', '--context', 'b']).code, 0);

    // The agent follows a new app's files from when it learns of the app (a few lines in, at times):
    // from its first line shipped, each host's lines must all come, once each, on both followers.
    const range = (seen: Map<number, number> | undefined): number[] => {
      if (!seen || seen.size === 0) return [];
      const first = Math.min(...seen.keys());
      return [...Array(N - first).keys()].map((i) => first + i);
    };
    const complete = (out: string): boolean => {
      const byHost = counts(parse(out), 'counter');
      return ['web1', 'web2', 'web3'].every((h) => (byHost.get(h)?.size ?? 0) > 0 && byHost.get(h)!.size === range(byHost.get(h)).length);
    };
    await waitFor(() => complete(followA.output()) && complete(followB.output()), {
      timeoutMs: 20_000,
      message: `lines up to ${N - 1} of each host on both followers`,
    }).catch((err: Error) => {
      const seen = (out: string): string =>
        [...counts(parse(out), 'counter')]
          .map(([h, m]) => `${h} ${m.size} (missing ${range(m).filter((n) => !m.has(n)).slice(0, 20).join(' ')})`)
          .join(', ') || 'none';
      throw new Error(`${err.message}: A has ${seen(followA.output())}; B has ${seen(followB.output())}`);
    });
    const outputs = { A: (await followA.stop()).stdout, B: (await followB.stop()).stdout };
    const shipped = new Map<string, number>();
    for (const [who, out] of Object.entries(outputs)) {
      const byHost = counts(parse(out), 'counter');
      for (const host of ['web1', 'web2', 'web3']) {
        const seen = byHost.get(host)!;
        const twice = [...seen].filter(([, k]) => k > 1).map(([n]) => n);
        assert.deepEqual(twice, [], `follower on ${who}: lines of ${host} shown twice`);
        assert.deepEqual([...seen.keys()].sort((a, b) => a - b), range(seen), `follower on ${who}: every line of ${host}`);
        assert.ok(seen.size > N / 2, `follower on ${who}: ${host} shipped from line ${N - seen.size}`);
        if (shipped.has(host)) assert.equal(seen.size, shipped.get(host), `both followers saw the same lines of ${host}`);
        shipped.set(host, seen.size);
      }
    }

    // The queue group: every message taken by one controller only, and the lines add up.
    const all = (): Taken[] => [...taken('A', c.controllerLog), ...taken('B', secondLog)];
    const linesTaken = (host: string): number => all().filter((t) => t.kind === 'logs' && t.host === host && t.app === 'counter').reduce((s, t) => s + t.lines, 0);
    await waitFor(() => ['web1', 'web2', 'web3'].every((h) => linesTaken(h) >= shipped.get(h)!), { message: 'the controllers to take every line' });
    const takes = all();
    const byKey = new Map<string, Taken[]>();
    for (const t of takes) byKey.set(t.key, [...(byKey.get(t.key) ?? []), t]);
    const twice = [...byKey].filter(([, ts]) => ts.length > 1).map(([k, ts]) => `${k} by ${ts.map((t) => t.controller).join('+')}`);
    assert.deepEqual(twice, [], 'no message taken twice');
    for (const host of ['web1', 'web2', 'web3']) assert.equal(linesTaken(host), shipped.get(host), `lines of ${host} taken in all`);
    const logTakes = takes.filter((t) => t.kind === 'logs');
    assert.ok(logTakes.some((t) => t.controller === 'A') && logTakes.some((t) => t.controller === 'B'), `both controllers took a share (${logTakes.length} batches)`);
    // Events: each host's first snapshot and the start of counter, each taken once (checked above).
    for (const host of ['web1', 'web2', 'web3']) {
      assert.ok(takes.filter((t) => t.kind === 'events' && t.host === host).length >= 2, `events of ${host}`);
    }

    // The merged view on B: the lines of hosts linked to A come from the windows A and B share.
    const tail = c.fleet(['logs', 'counter', '--lines', '3', '--json', '--context', 'b']);
    assert.equal(tail.code, 0, tail.stderr);
    const tails = counts(parse(tail.stdout), 'counter');
    for (const host of ['web1', 'web2', 'web3']) assert.deepEqual([...(tails.get(host)?.keys() ?? [])], [N - 3, N - 2, N - 1], `last lines of ${host} on B`);
  });

  test('NATS restarted mid-stream: nothing lost within the buffer, an overflow counted', async () => {
    const config = writeConfig(c.dir, 'ticker', { LOG_LINES_PER_S: '200' });
    assert.equal(c.fleet(['start', config, '--hosts', 'web2']).code, 0);
    assert.equal(c.fleet(['start', config, '--hosts', 'web3', '--context', 'b']).code, 0);
    const follow = c.spawnFleet(['logs', 'ticker', '-f', '--lines', '0', '--json', '--context', 'b']);
    const numbers = (host: string): number[] =>
      parse(follow.output())
        .filter((l) => l.host === host && l.app === 'ticker')
        .map((l) => Number(/^line (\d+)$/.exec(l.line)?.[1]));
    await waitFor(() => numbers('web2').length > 50 && numbers('web3').length > 50, { message: 'ticker lines from web2 and web3' });

    await nats.stop('SIGTERM');
    // While NATS is away web2 writes ~300 lines (within its buffer of 10 000), web3 more than its 50.
    const file = path.join(c.hostHome('web2'), 'logs', 'ticker-out.log');
    const atStop = lineCount(file);
    await waitFor(() => lineCount(file) > atStop + 300, { message: 'web2 to write 300 lines with NATS down' });
    await nats.start();
    const resumedFrom = lineCount(file);
    await waitFor(() => numbers('web2').some((n) => n > resumedFrom + 100), { timeoutMs: 20_000, message: 'web2 lines after NATS is back' });
    await waitFor(() => /\[fleet\] \d+ log lines from web3 were dropped/.test(follow.output()), { message: 'the drop notice of web3' });
    const missing = (): number[] => {
      const seen = numbers('web2');
      const set = new Set(seen);
      const out: number[] = [];
      for (let n = seen[0]; n <= resumedFrom + 100; n++) if (!set.has(n)) out.push(n);
      return out;
    };
    // Lines in flight when NATS went away come again (in a second or so), after newer ones at times.
    await waitFor(() => missing().length === 0, { timeoutMs: 10_000, message: 'every line of web2 across the NATS restart' }).catch(() => undefined);
    const out = await follow.stop();
    assert.deepEqual(missing(), [], 'no line of web2 lost across the NATS restart');
    const seen = numbers('web2');
    assert.deepEqual(seen.filter((n, i) => seen.indexOf(n) !== i), [], 'no line of web2 shown twice');
    const notice = parse(out.stdout).find((l) => (l.dropped ?? 0) > 0)!;
    assert.equal(notice.host, 'web3');
    assert.ok(!parse(out.stdout).some((l) => l.host === 'web2' && (l.dropped ?? 0) > 0), 'web2 dropped nothing');

    // The windows the queue group fed hold them once each: a fresh follower's backlog from both controllers.
    const fresh = c.spawnFleet(['logs', 'ticker', '-f', '--lines', '100000', '--json', '--hosts', 'web2']);
    await waitFor(() => parse(fresh.output()).length > 500, { message: 'the backlog of web2' });
    const backlog = parse((await fresh.stop()).stdout)
      .filter((l) => l.app === 'ticker')
      .map((l) => Number(/^line (\d+)$/.exec(l.line)?.[1]));
    const dup = backlog.filter((n, i) => backlog.indexOf(n) !== i);
    assert.deepEqual(dup, [], 'no line twice in the windows');
    const sorted = [...backlog].sort((a, b) => a - b);
    const gaps = sorted.filter((n, i) => i > 0 && n !== sorted[i - 1] + 1);
    assert.deepEqual(gaps, [], 'the windows hold every line');
  });
});
