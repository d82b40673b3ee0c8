import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { natsFlags } from '../src/nats-flags';

test('--nats flags: gathered with absolute paths; a companion flag without --nats is a usage error', () => {
  assert.equal(natsFlags({}, '/etc'), undefined);
  assert.deepEqual(natsFlags({ nats: 'nats://n1:4222', natsCluster: 'prod', natsCreds: 'fleet.creds', natsTlsCa: '/pki/ca.pem' }, '/etc/fleet'), {
    url: 'nats://n1:4222',
    cluster: 'prod',
    credsFile: '/etc/fleet/fleet.creds',
    tokenFile: undefined,
    tlsCa: '/pki/ca.pem',
    tlsCert: undefined,
    tlsKey: undefined,
  });
  assert.throws(() => natsFlags({ natsTokenFile: 't' }, '/'), /--nats-token-file only applies with --nats/);
  assert.throws(() => natsFlags({ natsLogsRetention: '24h' } as never, '/'), /--nats-logs-retention only applies with --nats/);
});
