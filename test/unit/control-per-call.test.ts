/**
 * The per-call control actions on an AT line (the emulator): `mute-call` / `unmute-call` and
 * `get-stats` say "not supported / not available on this line", naming the module, and nothing
 * reaches it. (On a SIP line: test/integration/sip-control.test.ts, sip-early-media.test.ts.)
 */
import { strict as assert } from 'node:assert';
import { NotSupportedError, UnknownCallError } from '../../lib/errors';
import { startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

describe('control: mute per call and media statistics on an AT line', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  it('mute-call and get-stats of a connected call: NotSupportedError naming the line, no AT command sent', async () => {
    const h = track(await startLine('ec200u'));
    const { call } = await h.line.dialAndWait('5551234');
    const mark = h.modem().commands.length;
    await assert.rejects(h.line.control.setCallMute(call.id, true), (err: unknown) => {
      assert.ok(err instanceof NotSupportedError);
      assert.match(err.message, /^muting one call is not supported on this line \(.*EC200U.*\): mute \(the microphone\) mutes every call$/);
      return true;
    });
    assert.throws(() => h.line.control.stats(call.id), (err: unknown) => {
      assert.ok(err instanceof NotSupportedError);
      assert.match(err.message, /^media statistics are not available on this line \(.*EC200U.*\): the call's audio does not pass through this host$/);
      return true;
    });
    assert.deepEqual(h.modem().commands.slice(mark).filter((c) => c.startsWith('AT+CMUT')), []);
    await h.line.hangup(call.id);
    await h.next('ended');
    assert.throws(() => h.line.control.stats(), UnknownCallError, 'no call left');
  });
});
