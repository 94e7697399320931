import { strict as assert } from 'node:assert';
import type { EmulatorDtmf } from '../../lib/at/emulator/features/dtmf';
import { PtyLine, ptyLines } from '../helpers/pty-line';

/**
 * DTMF through the REAL serialport native binding: the line opens one end of a socat pseudo-terminal
 * pair, as it opens /dev/ttyUSB2; the emulated EC600N sits on the other end.
 */
describe('DTMF over a real serial port (socat pty)', function () {
  this.timeout(20000);
  const open = ptyLines();
  let pty: PtyLine;

  beforeEach(async () => {
    pty = await open({ profile: 'ec600n' });
  });

  it('incoming call with DTMF gather: answer, the far end presses 123#, the gather gives 123 (finish-key)', async () => {
    assert.ok(pty.modem.commands.includes('AT+QTONEDET=1'), 'tone detection switched on at start');
    const incoming = pty.next('incoming');
    pty.modem.incomingCall('+4930123456');
    const inc = await incoming;
    await pty.line.answer(inc.call!.id);
    const gather = await pty.line.dtmf.collect(inc.call!.id, { finishKey: '#', firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000 });
    pty.modem.pressDigits('123#', 50);
    assert.deepEqual(await gather.result, { digits: '123', reason: 'finish-key' });
    assert.deepEqual(
      pty.events.filter((e) => e.topic === 'dtmf').map((e) => [e.call?.id, e.payload.digit]),
      [...'123#'].map((d) => [inc.call!.id, d]),
    );
  });

  it('sends digits into the call as AT+VTS="<digits>",<tenths>', async () => {
    const r = await pty.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
    await pty.line.dtmf.send(r.call.id, '9*0#', { durationMs: 200 });
    assert.ok(pty.modem.commands.includes('AT+VTS="9*0#",2'), pty.modem.commands.join(' '));
    assert.equal(pty.modem.feature<EmulatorDtmf>('dtmf').heard, '9*0#');
  });
});
