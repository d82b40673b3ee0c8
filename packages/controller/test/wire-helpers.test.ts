import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  BadInputError,
  describeSelector,
  isEmptySelector,
  LINK_PROTOCOL_OLDEST,
  LINK_PROTOCOL_VERSION,
  linkVersionProblem,
  matchesLabels,
  parseHostList,
  parseLabels,
  selectorOf,
} from '@fleet/protocol';

test('linkVersionProblem: the current version and the one before it are taken', () => {
  assert.equal(linkVersionProblem(LINK_PROTOCOL_VERSION), undefined);
  assert.equal(linkVersionProblem(LINK_PROTOCOL_OLDEST), undefined);
  assert.ok(LINK_PROTOCOL_OLDEST >= 1);
  assert.ok(LINK_PROTOCOL_OLDEST >= LINK_PROTOCOL_VERSION - 1, 'one version older at most');
});

test('linkVersionProblem: a newer agent is refused, and told to upgrade the controller first', () => {
  const p = linkVersionProblem(LINK_PROTOCOL_VERSION + 1)!;
  assert.ok(p);
  assert.match(p, /upgrade the controller/);
  assert.ok(p.includes(String(LINK_PROTOCOL_VERSION + 1)));
  assert.ok(p.includes(`this controller's ${LINK_PROTOCOL_VERSION}`));
});

test('linkVersionProblem: an agent older than the oldest taken is refused, and told to upgrade the host', () => {
  const old = LINK_PROTOCOL_OLDEST - 1;
  const p = linkVersionProblem(old)!;
  assert.ok(p);
  assert.match(p, /older than the oldest this controller takes/);
  assert.match(p, /upgrade fleet on the host/);
  assert.ok(p.includes(`(${LINK_PROTOCOL_OLDEST})`));
  // An agent that sent no version (proto default 0) is the oldest of all.
  assert.ok(linkVersionProblem(0));
});

test('parseHostList: commas, spaces and empty items', () => {
  assert.deepEqual(parseHostList(undefined), []);
  assert.deepEqual(parseHostList(''), []);
  assert.deepEqual(parseHostList(' web1 , web2,,db1 ,'), ['web1', 'web2', 'db1']);
});

test('parseLabels: key=value pairs separated by commas', () => {
  assert.deepEqual(parseLabels(undefined), {});
  assert.deepEqual(parseLabels(''), {});
  assert.deepEqual(parseLabels('role=web, zone=eu-west-1a ,'), { role: 'web', zone: 'eu-west-1a' });
  assert.deepEqual(parseLabels('tier=', '--label'), { tier: '' }, 'an empty value is a value');
  assert.deepEqual(parseLabels('k8s.io/arch=amd64,ver=1:2'), { 'k8s.io/arch': 'amd64', ver: '1:2' });
  assert.deepEqual(parseLabels('role=web,role=db'), { role: 'db' }, 'the last one wins');
});

test('parseLabels errors name the flag and the item, and show an example with that flag', () => {
  for (const [text, flag, item] of [
    ['role', '--selector', 'role'],
    ['=web', '--selector', '=web'],
    ['role=web,zone', '--selector', 'zone'],
    ['ro le=web', '--label', 'ro le=web'],
    ['role=w b', '--label', 'role=w b'],
  ] as const) {
    assert.throws(
      () => parseLabels(text, flag),
      (err: unknown) => {
        assert.ok(err instanceof BadInputError, text);
        assert.equal(err.message, `${flag} "${item}" is not a key=value label`);
        assert.ok(err.hint?.includes(`e.g. ${flag} role=web,zone=a`), err.hint);
        return true;
      },
    );
  }
  assert.throws(() => parseLabels('nope'), (err: unknown) => err instanceof BadInputError && err.message.startsWith('--selector '));
});

test('selectorOf: nothing given is no selector at all', () => {
  assert.equal(selectorOf(), undefined);
  assert.equal(selectorOf('', ''), undefined);
  assert.equal(selectorOf(' , ', ' ,'), undefined);
  assert.deepEqual(selectorOf('web1,web2'), { hosts: ['web1', 'web2'], labels: {} });
  assert.deepEqual(selectorOf(undefined, 'role=web'), { hosts: [], labels: { role: 'web' } });
  assert.deepEqual(selectorOf('web1', 'role=web'), { hosts: ['web1'], labels: { role: 'web' } });
  assert.throws(() => selectorOf('web1', 'role'), BadInputError);
});

test('isEmptySelector and matchesLabels', () => {
  assert.ok(isEmptySelector(undefined));
  assert.ok(isEmptySelector({ hosts: [], labels: {} }));
  assert.ok(!isEmptySelector({ hosts: ['a'], labels: {} }));
  assert.ok(!isEmptySelector({ hosts: [], labels: { a: 'b' } }));
  assert.ok(matchesLabels({ role: 'web', zone: 'a' }, {}));
  assert.ok(matchesLabels({ role: 'web', zone: 'a' }, { role: 'web' }));
  assert.ok(!matchesLabels({ role: 'web' }, { role: 'web', zone: 'a' }));
  assert.ok(!matchesLabels({ role: 'db' }, { role: 'web' }));
  assert.ok(matchesLabels({ tier: '' }, { tier: '' }));
  assert.ok(!matchesLabels({}, { tier: '' }), 'a missing label is not an empty one');
});

test('describeSelector: what a user typed, back in flag form', () => {
  assert.equal(describeSelector(undefined), 'every host');
  assert.equal(describeSelector({ hosts: [], labels: {} }), 'every host');
  assert.equal(describeSelector({ hosts: ['web1', 'web2'], labels: {} }), '--hosts web1,web2');
  assert.equal(describeSelector({ hosts: [], labels: { role: 'web', zone: 'a' } }), '--selector role=web,zone=a');
  assert.equal(describeSelector({ hosts: ['db1'], labels: { role: 'db' } }), '--hosts db1 --selector role=db');
  assert.equal(describeSelector(selectorOf('web1', 'role=web')), '--hosts web1 --selector role=web');
});
