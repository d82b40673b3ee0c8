import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import {
  AgentLinkService,
  BadInputError,
  ConflictError,
  DeniedError,
  FleetError,
  FleetService,
  NotFoundError,
  toServiceError,
} from '@fleet/protocol';
import { ROLES, allows, parseRole, requiredRoleText, type Role } from '../src/auth/roles';
import { TokenStore } from '../src/auth/token-store';
import { authorize, bearerFrom } from '../src/auth/bearer';

const CONNECT = AgentLinkService.connect.path;
const FETCH = AgentLinkService.fetchArtifact.path;
const READ_ONLY = new Set(['Ping', 'List', 'Describe', 'Logs', 'Hosts', 'Deployments', 'WatchDeployment', 'Releases']);
const FLEET_METHODS = Object.values(FleetService).map((d) => d.path);

function tempFile(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-auth-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'state', 'tokens.json');
}

function withBearer(value: string): Metadata {
  const md = new Metadata();
  md.set('authorization', value);
  return md;
}

test('role matrix: agent only links, viewer only reads, operator runs every Fleet call', () => {
  assert.ok(FLEET_METHODS.length >= 18, 'the generated Fleet service lists its methods');
  for (const method of FLEET_METHODS) {
    const name = method.split('/').pop()!;
    assert.equal(allows('agent', method), false, `agent ${name}`);
    assert.equal(allows('viewer', method), READ_ONLY.has(name), `viewer ${name}`);
    assert.equal(allows('operator', method), true, `operator ${name}`);
  }
  assert.equal(allows('agent', CONNECT), true);
  // An agent pulls release artifacts; nobody else needs that call.
  assert.equal(allows('agent', FETCH), true);
  assert.equal(allows('viewer', FETCH), false);
  assert.equal(allows('operator', FETCH), false);
  assert.equal(allows('viewer', CONNECT), false);
  assert.equal(allows('operator', CONNECT), false);
  for (const role of ROLES) {
    for (const unknown of ['/fleet.v1.Fleet/Nope', '/fleet.v1.Other/List', 'List', '', '/fleet.v1.Fleet/']) {
      assert.equal(allows(role, unknown), false, `${role} ${unknown}`);
    }
  }
});

test('requiredRoleText names the least role a call needs', () => {
  assert.equal(requiredRoleText(FleetService.restart.path), 'needs an operator token');
  assert.equal(requiredRoleText(FleetService.createToken.path), 'needs an operator token');
  assert.equal(requiredRoleText(FleetService.list.path), 'needs a viewer or operator token');
  assert.equal(requiredRoleText(CONNECT), 'needs an agent token');
  assert.match(requiredRoleText('/fleet.v1.Fleet/Nope'), /not a method/);
});

test('parseRole accepts the three roles and names them when refusing', () => {
  assert.equal(parseRole('operator'), 'operator');
  assert.equal(parseRole(' Viewer '), 'viewer');
  assert.equal(parseRole('agent'), 'agent');
  for (const bad of ['admin', '', 'operators']) {
    assert.throws(
      () => parseRole(bad),
      (err: unknown) => err instanceof BadInputError && /agent, operator, viewer/.test(err.hint ?? ''),
      bad,
    );
  }
});

test('tokens: create, verify, list, revoke; the file holds no secret and is 0600', (t) => {
  const file = tempFile(t);
  let now = 1_000;
  const store = TokenStore.open(file, () => now);
  assert.equal(store.isEmpty(), true);
  assert.equal(fs.existsSync(file), false, 'opening creates nothing');

  const op = store.create('operator', 'laptop');
  now = 2_000;
  const viewer = store.create('viewer');
  assert.match(op.token, /^fleet_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(op.token, viewer.token);
  assert.match(op.info.id, /^[0-9a-f]{8}$/);
  assert.deepEqual(op.info, { id: op.info.id, role: 'operator', name: 'laptop', createdMs: 1_000 });
  assert.equal(viewer.info.createdMs, 2_000);
  assert.equal(store.isEmpty(), false);

  assert.deepEqual(store.verify(op.token), op.info);
  assert.deepEqual(store.verify(viewer.token), viewer.info);
  assert.equal(store.verify(op.token + 'x'), undefined);
  assert.equal(store.verify(op.token.slice(0, -1)), undefined);
  assert.equal(store.verify(''), undefined);
  assert.equal(store.verify('fleet_' + 'A'.repeat(43)), undefined);
  assert.deepEqual(store.list(), [op.info, viewer.info]);

  const text = fs.readFileSync(file, 'utf8');
  for (const secret of [op.token, viewer.token, op.token.slice('fleet_'.length)]) {
    assert.equal(text.includes(secret), false, 'the file must not contain the secret');
  }
  assert.ok(text.includes(op.info.id));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  assert.deepEqual(store.revoke(op.info.id), op.info);
  assert.equal(store.verify(op.token), undefined, 'a revoked token no longer verifies');
  assert.deepEqual(store.verify(viewer.token), viewer.info);
  assert.deepEqual(store.list(), [viewer.info]);
  assert.throws(() => store.revoke(op.info.id), (err: unknown) => err instanceof NotFoundError && /fleet token ls/.test(err.hint ?? ''));
  assert.throws(() => store.create('root'), BadInputError);
});

test('tokens persist across reopen, including revocations', (t) => {
  const file = tempFile(t);
  const first = TokenStore.open(file);
  const a = first.create('agent', 'web-1');
  const b = first.create('operator', 'ci');
  first.revoke('ci');

  const again = TokenStore.open(file);
  assert.deepEqual(again.list(), [a.info]);
  assert.deepEqual(again.verify(a.token), a.info);
  assert.equal(again.verify(b.token), undefined);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('revoke by name: unique name works, ambiguous name is refused, id wins', (t) => {
  const store = TokenStore.open(tempFile(t));
  const one = store.create('viewer', 'dup');
  const two = store.create('viewer', 'dup');
  assert.throws(
    () => store.revoke('dup'),
    (err: unknown) => err instanceof BadInputError && err.message.includes(one.info.id) && err.message.includes(two.info.id),
  );
  assert.equal(store.list().length, 2, 'nothing revoked on ambiguity');
  assert.deepEqual(store.revoke(two.info.id), two.info);
  assert.deepEqual(store.revoke('dup'), one.info);
  assert.equal(store.isEmpty(), true);
  assert.throws(() => store.revoke(''), NotFoundError);
});

test('import stores a known secret; too short is refused; re-import is idempotent', (t) => {
  const file = tempFile(t);
  const store = TokenStore.open(file);
  const secret = 'dev-operator-secret-123';
  const info = store.import(secret, 'operator', 'demo');
  assert.equal(info.role, 'operator');
  assert.deepEqual(store.verify(secret), info);
  assert.deepEqual(store.import(secret, 'operator', 'demo'), info);
  assert.equal(store.list().length, 1);
  assert.throws(() => store.import(secret, 'viewer', 'demo'), ConflictError);
  assert.throws(() => store.import('short-secret', 'operator'), BadInputError);
  assert.throws(() => store.import('a'.repeat(15), 'operator'), BadInputError);
  assert.equal(fs.readFileSync(file, 'utf8').includes(secret), false);
  assert.deepEqual(TokenStore.open(file).verify(secret), info);
});

test('a corrupt token file is refused with the file named', (t) => {
  const file = tempFile(t);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '{ not json');
  assert.throws(() => TokenStore.open(file), (err: unknown) => err instanceof BadInputError && err.message.includes(file));
  fs.writeFileSync(file, JSON.stringify({ version: 1, tokens: [{ id: 'x', role: 'root', name: '', createdMs: 0, hash: 'ab' }] }));
  assert.throws(() => TokenStore.open(file), (err: unknown) => err instanceof BadInputError && /entry 0/.test(err.message));
});

test('bearerFrom reads Bearer tokens only', () => {
  assert.equal(bearerFrom(withBearer('Bearer fleet_abc')), 'fleet_abc');
  assert.equal(bearerFrom(withBearer('bearer   fleet_abc ')), 'fleet_abc');
  assert.equal(bearerFrom(new Metadata()), undefined);
  assert.equal(bearerFrom(withBearer('Basic dXNlcjpwYXNz')), undefined);
  assert.equal(bearerFrom(withBearer('Bearer')), undefined);
  assert.equal(bearerFrom(withBearer('Bearer a b')), undefined);
});

test('authorize: the caller, or a DeniedError that says why and what to do', (t) => {
  const store = TokenStore.open(tempFile(t));
  const tokens = Object.fromEntries(
    (['agent', 'viewer', 'operator'] as Role[]).map((role) => [role, store.create(role)]),
  ) as Record<Role, ReturnType<TokenStore['create']>>;
  const auth = (role: Role, method: string) => authorize(store, withBearer(`Bearer ${tokens[role].token}`), method);

  assert.deepEqual(auth('operator', FleetService.restart.path), { role: 'operator', tokenId: tokens.operator.info.id, tokenName: tokens.operator.info.name });
  assert.deepEqual(auth('viewer', FleetService.list.path), { role: 'viewer', tokenId: tokens.viewer.info.id, tokenName: tokens.viewer.info.name });
  assert.deepEqual(auth('agent', CONNECT), { role: 'agent', tokenId: tokens.agent.info.id, tokenName: tokens.agent.info.name });

  const denied = (fn: () => unknown, message: RegExp, hint: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof DeniedError, String(err));
      assert.equal((err as FleetError).code, 'DENIED');
      assert.match(err.message, message);
      assert.match(err.hint ?? '', hint);
      return true;
    });

  denied(() => authorize(store, new Metadata(), FleetService.list.path), /carried none/, /--token-file/);
  denied(() => authorize(store, withBearer('Basic x'), FleetService.list.path), /Bearer <token>/, /--token-file/);
  denied(
    () => authorize(store, withBearer('Bearer fleet_unknown'), FleetService.list.path),
    /not known to this controller: it was revoked or belongs to another controller/,
    /fleet token create --role operator/,
  );
  denied(() => auth('viewer', FleetService.restart.path), /^a viewer token cannot run Restart: it needs an operator token$/, /--role operator/);
  denied(() => auth('agent', FleetService.list.path), /^an agent token cannot run List: it needs a viewer or operator token$/, /--role viewer/);
  denied(() => auth('operator', CONNECT), /^an operator token cannot run Connect: it needs an agent token$/, /--role agent/);
  denied(() => auth('operator', '/fleet.v1.Fleet/Nope'), /not a method/, /upgrade/);

  store.revoke(tokens.operator.info.id);
  denied(() => auth('operator', FleetService.restart.path), /revoked/, /fleet token create/);
});

test('DeniedError crosses the wire as PERMISSION_DENIED with its hint', () => {
  const err = toServiceError(new DeniedError('no', { hint: 'do this' }));
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.equal(err.metadata?.get('fleet-code')[0], 'DENIED');
  assert.equal(err.metadata?.get('fleet-hint')[0], 'do this');
});
