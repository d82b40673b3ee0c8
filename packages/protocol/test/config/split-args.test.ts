import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigError } from '../../src/config';
import { splitArgs } from '../../src/config/split-args';

test('args strings split like a shell, respecting quotes and escapes', () => {
  assert.deepEqual(splitArgs('start', 'args'), ['start']);
  assert.deepEqual(splitArgs('  --port 3000   --verbose ', 'args'), ['--port', '3000', '--verbose']);
  assert.deepEqual(splitArgs(`--name "my app" --tag 'a b'`, 'args'), ['--name', 'my app', '--tag', 'a b']);
  assert.deepEqual(splitArgs(`--msg="say \\"hi\\"" it\\'s`, 'args'), ['--msg=say "hi"', "it's"]);
  assert.deepEqual(splitArgs(`'$HOME' "*"`, 'args'), ['$HOME', '*']);
  assert.deepEqual(splitArgs(`"" x`, 'args'), ['', 'x']);
  assert.deepEqual(splitArgs('', 'args'), []);
});

test('an unterminated quote is a ConfigError naming the key', () => {
  assert.throws(() => splitArgs('--name "oops', 'node_args'), (err: unknown) => err instanceof ConfigError && err.key === 'node_args');
});
