import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { NotFoundError, fromServiceError, toServiceError } from '../src';

test('an error crosses the wire with its class, hint, app and host, whatever characters they hold', () => {
  const err = new NotFoundError('unknown host wéb1', { hint: 'no agent yet: start `fleet agent --controller …`', host: 'wéb1\n', app: 'a%b' });
  const wire = toServiceError(err) as ServiceError;
  const back = fromServiceError(wire);
  assert.ok(back instanceof NotFoundError);
  assert.equal(back.message, 'unknown host wéb1');
  assert.equal(back.hint, 'no agent yet: start `fleet agent --controller …`');
  assert.equal(back.host, 'wéb1\n');
  assert.equal(back.app, 'a%b');
  // Plain values travel as they are, readable by any gRPC client.
  assert.equal(toServiceError(new NotFoundError('x', { hint: 'see fleet ls' })).metadata!.get('fleet-hint')[0], 'see fleet ls');
});
