/**
 * The privacy dial option on an AT line: CLIR for the one call, the dial string's `I` modifier
 * (3GPP TS 27.007 §6.2, `ATD<number>I;`), against the emulator; the option's own validation.
 * The SIP side (Privacy: id, anonymous From, P-Asserted-Identity) is checked by SIPp in
 * test/integration/sip-targets.test.ts.
 */
import assert from 'node:assert/strict';
import { startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

describe('privacy dial option on an AT line (CLIR, ATD<n>I;)', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  it('privacy: true dials ATD<number>I; and the call goes on as any other', async function () {
    const h = track(await startLine('ec25'));
    const result = await h.line.dialAndWait('5551234', { privacy: true });
    assert.equal(result.answered, true);
    assert.deepEqual(h.modem().commands.filter((c) => /^ATD/i.test(c)), ['ATD5551234I;']);
    assert.equal(result.call.remote.number, '5551234');
  });

  it('without it (or false) the dial string has no modifier', async function () {
    const h = track(await startLine('ec25'));
    await h.line.dialAndWait('5551234', { privacy: false });
    assert.deepEqual(h.modem().commands.filter((c) => /^ATD/i.test(c)), ['ATD5551234;']);
  });

  it('a privacy value that is not true or false is refused, nothing dialled', async function () {
    const h = track(await startLine('ec25'));
    await assert.rejects(h.line.dial('5551234', { privacy: 'yes' }), { name: 'InvalidInputError', message: /privacy must be true \(withhold our number\) or false, got string yes/ });
    assert.deepEqual(h.modem().commands.filter((c) => /^ATD/i.test(c)), []);
  });
});
