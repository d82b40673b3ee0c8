import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeSubjectToken, encodeSubjectToken, NatsSubjects, natsTarget } from '../src/index';

test('subjects: fleet.<cluster>.<kind>.<host>[.<app>], one token per name', () => {
  const s = new NatsSubjects('prod');
  assert.equal(s.logs('web1', 'api'), 'fleet.prod.logs.web1.api');
  assert.equal(s.hostLogs('web1'), 'fleet.prod.logs.web1');
  assert.equal(s.events('web1'), 'fleet.prod.events.web1');
  assert.equal(s.metrics('web1'), 'fleet.prod.metrics.web1');
  assert.equal(s.all('logs'), 'fleet.prod.logs.>');
  assert.equal(s.all('events'), 'fleet.prod.events.*');
  assert.equal(new NatsSubjects().prefix, 'fleet.default');
  assert.throws(() => new NatsSubjects('a.b'), /not a valid name/);
});

test('a name with a dot or a wildcard stays one token, and comes back whole', () => {
  for (const name of ['web1.example.com', 'a*b', 'x>y', 'sp ace', '100%', 'ünï', 'plain-name_1']) {
    const token = encodeSubjectToken(name);
    assert.match(token, /^[A-Za-z0-9_%-]+$/, name);
    assert.equal(decodeSubjectToken(token), name);
  }
  assert.equal(encodeSubjectToken('web1.example.com'), 'web1%2Eexample%2Ecom');
  const s = new NatsSubjects('c');
  assert.deepEqual(s.parse(s.logs('web1.example.com', 'api.v2')), { kind: 'logs', host: 'web1.example.com', app: 'api.v2' });
  assert.deepEqual(s.parse(s.hostLogs('web1')), { kind: 'logs', host: 'web1' });
  assert.deepEqual(s.parse(s.events('web1')), { kind: 'events', host: 'web1' });
  assert.equal(s.parse('fleet.other.logs.web1.api'), undefined);
  assert.equal(s.parse('fleet.c.events.web1.extra'), undefined);
  assert.equal(s.parse(s.recent), undefined);
});

test("a follower's subjects: its hosts and apps, and always the host-wide notices", () => {
  const s = new NatsSubjects('c');
  assert.deepEqual(s.logFollow(), ['fleet.c.logs.*', 'fleet.c.logs.*.*']);
  assert.deepEqual(s.logFollow(['web1'], ['api', 'worker']), ['fleet.c.logs.web1', 'fleet.c.logs.web1.api', 'fleet.c.logs.web1.worker']);
  assert.deepEqual(s.logFollow(undefined, ['api']), ['fleet.c.logs.*', 'fleet.c.logs.*.api']);
});

test('natsTarget: URLs, credentials from the URL or files, TLS; each mistake names its flag', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-nats-target-'));
  try {
    const t = natsTarget({ url: 'nats://alice:s%3Fcret@n1:4223, n2', cluster: 'prod' });
    assert.deepEqual(t.servers, ['n1:4223', 'n2:4222']);
    assert.equal(t.user, 'alice');
    assert.equal(t.pass, 's?cret');
    assert.equal(t.tls, undefined);
    assert.equal(t.display, 'nats://n1:4223,n2:4222');
    assert.deepEqual(natsTarget({ url: 'tls://n1:4222' }).tls, { caFile: undefined, certFile: undefined, keyFile: undefined });
    assert.equal(natsTarget({ url: 'n1' }).cluster, 'default');

    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'sekrit\n');
    assert.equal(natsTarget({ url: 'n1', tokenFile }).token, 'sekrit');
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    assert.equal(natsTarget({ url: 'n1', tlsCa: ca }).tls?.caFile, ca);

    assert.throws(() => natsTarget({ url: 'http://n1' }), /scheme http:\/\/ is not NATS/);
    assert.throws(() => natsTarget({ url: 'n1', cluster: 'a.b' }), /--nats-cluster "a\.b" is not a valid name/);
    assert.throws(() => natsTarget({ url: 'n1', tokenFile: path.join(dir, 'none') }), /cannot read --nats-token-file/);
    assert.throws(() => natsTarget({ url: 'nats://u:p@n1', tokenFile }), /NATS takes one way to log in/);
    assert.throws(() => natsTarget({ url: 'n1', tlsCert: ca }), /--nats-tls-cert and --nats-tls-key go together/);
    fs.writeFileSync(tokenFile, '  \n');
    assert.throws(() => natsTarget({ url: 'n1', tokenFile }), /is empty/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
