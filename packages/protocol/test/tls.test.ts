import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChannelCredentials,
  Server,
  ServerCredentials,
  makeGenericClientConstructor,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { BadInputError } from '../src/errors';
import { clientCredentials, isLoopbackAddress, parseListen, serverCredentials } from '../src/transport';

test('isLoopbackAddress: only addresses this machine alone can reach', () => {
  for (const yes of [
    '127.0.0.1',
    '127.0.0.1:7070',
    '127.8.9.10:1',
    '::1',
    '[::1]:7070',
    '[0:0:0:0:0:0:0:1]:7070',
    '::ffff:127.0.0.1',
    '[::ffff:127.0.0.1]:7070',
    'localhost',
    'LOCALHOST:7070',
    'unix:/home/u/.fleet/run/fleet.sock',
    'unix:///tmp/x.sock',
    'dns:localhost:7070',
    'dns:///127.0.0.1:7070',
  ]) {
    assert.equal(isLoopbackAddress(yes), true, yes);
  }
  for (const no of [
    '0.0.0.0',
    '0.0.0.0:7070',
    '::',
    '[::]:7070',
    '10.0.0.5:7070',
    '128.0.0.1',
    '127.0.0.1.example.com',
    'localhost.example.com:7070',
    'example.com:7070',
    '[::2]:7070',
    '::ffff:10.0.0.1',
    '',
  ]) {
    assert.equal(isLoopbackAddress(no), false, no);
  }
});

test('parseListen reads host:port and [v6]:port', () => {
  assert.deepEqual(parseListen('0.0.0.0:7070'), { host: '0.0.0.0', port: 7070 });
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::]:7070'), { host: '::', port: 7070 });
  assert.deepEqual(parseListen('[::1]:65535'), { host: '::1', port: 65535 });
  assert.deepEqual(parseListen('controller.internal:443'), { host: 'controller.internal', port: 443 });
});

test('parseListen refuses garbage, naming the flag and the value', () => {
  for (const bad of ['', '7070', ':7070', '0.0.0.0', '0.0.0.0:', '0.0.0.0:x', '0.0.0.0:65536', '0.0.0.0:-1', '::1:7070', '[zz]:1', 'a b:1', 'unix:/tmp/s']) {
    assert.throws(
      () => parseListen(bad, '--listen'),
      (err: unknown) =>
        err instanceof BadInputError && err.message.includes('--listen') && err.message.includes(JSON.stringify(bad)) && /host:port/.test(err.hint ?? ''),
      bad,
    );
  }
});

test('serverCredentials: a missing file is named with its flag; half a pair is refused', (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'nope.pem');
  assert.throws(
    () => serverCredentials({ cert: missing, key: missing }),
    (err: unknown) => err instanceof BadInputError && err.message.includes(missing) && err.message.includes('--tls-cert') && /ENOENT/.test(err.message),
  );
  const notPem = path.join(dir, 'cert.der');
  fs.writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01]));
  assert.throws(
    () => serverCredentials({ cert: notPem, key: notPem }),
    (err: unknown) => err instanceof BadInputError && err.message.includes(notPem) && /not PEM/.test(err.message),
  );
  assert.throws(() => serverCredentials({ cert: missing }), (err: unknown) => err instanceof BadInputError && /--tls-key/.test(err.hint ?? ''));
  assert.throws(() => serverCredentials({ key: missing }), (err: unknown) => err instanceof BadInputError && /--tls-cert/.test(err.hint ?? ''));
  assert.throws(() => serverCredentials({}), (err: unknown) => err instanceof BadInputError && /--insecure/.test(err.hint ?? ''));
  assert.throws(() => serverCredentials({ insecure: true, cert: missing }), BadInputError);
  assert.throws(
    () => clientCredentials({ ca: missing }),
    (err: unknown) => err instanceof BadInputError && err.message.includes(missing) && err.message.includes('--tls-ca'),
  );
  assert.ok(serverCredentials({ insecure: true }) instanceof ServerCredentials);
  assert.ok(clientCredentials({ insecure: true }) instanceof ChannelCredentials);
});

// A generic service with raw-bytes messages, so the test needs no proto.
const ECHO: ServiceDefinition = {
  echo: {
    path: '/fleet.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const EchoClient = makeGenericClientConstructor(ECHO, 'Echo');

test('TLS for real: a grpc-js server with serverCredentials answers a client with clientCredentials', async (t) => {
  if (!hasOpenssl()) {
    t.skip('openssl is not on PATH');
    return;
  }
  const dir = tempDir(t);
  const local = selfSigned(dir, 'local', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  const named = selfSigned(dir, 'named', 'subjectAltName=DNS:controller.fleet.test');

  // A key that belongs to another certificate is caught before serving.
  assert.throws(
    () => serverCredentials({ cert: local.cert, key: named.key }),
    (err: unknown) => err instanceof BadInputError && err.message.includes(named.key) && /does not belong/.test(err.message),
  );
  assert.throws(() => serverCredentials({ cert: local.key, key: local.key }), (err: unknown) => err instanceof BadInputError && /no PEM certificate/.test(err.message));
  assert.throws(() => serverCredentials({ cert: local.cert, key: local.cert }), (err: unknown) => err instanceof BadInputError && /private key/.test(err.message));

  const port = await serve(t, serverCredentials({ cert: local.cert, key: local.key, ca: local.cert }));
  assert.deepEqual(await echo(`127.0.0.1:${port}`, clientCredentials({ ca: local.cert }), 'hi'), 'hi');
  assert.deepEqual(await echo(`localhost:${port}`, clientCredentials({ ca: local.cert }), 'hello'), 'hello');
  // Plaintext or an untrusted certificate must not get through: TLS is really on.
  await assert.rejects(echo(`127.0.0.1:${port}`, clientCredentials({ insecure: true }), 'x'));
  await assert.rejects(echo(`127.0.0.1:${port}`, clientCredentials({ ca: named.cert }), 'x'));

  // A certificate for a DNS name, dialled by IP: only serverName makes it verify.
  const namedPort = await serve(t, serverCredentials({ cert: named.cert, key: named.key }));
  await assert.rejects(echo(`127.0.0.1:${namedPort}`, clientCredentials({ ca: named.cert }), 'x'));
  assert.equal(
    await echo(`127.0.0.1:${namedPort}`, clientCredentials({ ca: named.cert, serverName: 'controller.fleet.test' }), 'by name'),
    'by name',
  );
  await assert.rejects(echo(`127.0.0.1:${namedPort}`, clientCredentials({ ca: named.cert, serverName: 'other.fleet.test' }), 'x'));
});

interface TestContext {
  after(fn: () => void): void;
}

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version']).status === 0;
}

function selfSigned(dir: string, name: string, san: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const res = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-addext', san, '-keyout', key, '-out', cert],
    { encoding: 'utf8' },
  );
  assert.equal(res.status, 0, res.stderr);
  return { cert, key };
}

async function serve(t: TestContext, creds: ServerCredentials): Promise<number> {
  const server = new Server();
  server.addService(ECHO, {
    echo: (call: { request: Buffer }, cb: (err: null, res: Buffer) => void) => cb(null, call.request),
  });
  t.after(() => server.forceShutdown());
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))),
  );
}

function echo(target: string, creds: ChannelCredentials, text: string): Promise<string> {
  const client = new EchoClient(target, creds);
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO.echo!.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(text),
      { deadline: Date.now() + 5_000 },
      (err: ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!.toString())),
    );
  }).finally(() => client.close());
}
