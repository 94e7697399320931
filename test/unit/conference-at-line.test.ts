/**
 * Conference rooms on an AT line (the emulator): refused with a NotSupportedError (the network's own
 * three-party call, AT+CHLD=3, is a later piece of issue 15), and nothing reaches the module.
 */
import { strict as assert } from 'node:assert';
import { NotSupportedError } from '../../lib/errors';
import { startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

describe('conference rooms on an AT line', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  it('join: NotSupportedError "conference rooms are not supported on this line yet", naming the module; no AT command sent', async () => {
    const h = track(await startLine('ec200u'));
    const { call } = await h.line.dialAndWait('5551234');
    const mark = h.modem().commands.length;
    await assert.rejects(h.line.conference.join(call.id, 'sales'), (err: unknown) => {
      assert.ok(err instanceof NotSupportedError);
      assert.match(err.message, /^conference rooms are not supported on this line yet \(.*EC200U.*\)$/);
      return true;
    });
    assert.deepEqual(h.modem().commands.slice(mark), []);
    assert.equal(h.line.conference.getRoom('sales'), null);
    await h.line.hangup(call.id);
    await h.next('ended');
  });
});
