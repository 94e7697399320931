import { strict as assert } from 'node:assert';
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import type { EmulatorDtmf } from '../../lib/at/emulator/features/dtmf';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { PtyPair, ptyPair, requireSocat } from '../helpers/pty-pair';
import { FAST_MODEM, memoryLog } from '../helpers/at-harness';

/**
 * DTMF through the REAL serialport native binding: the line opens one end of a socat pseudo-terminal
 * pair, as it opens /dev/ttyUSB2; the emulated EC600N sits on the other end.
 */
describe('DTMF over a real serial port (socat pty)', function () {
  this.timeout(20000);
  let pair: PtyPair | null = null;
  let modemPort: SerialPort | null = null;
  let modem: EmulatedModem;
  let line: VoiceLine | null = null;
  let events: VoiceEvent[];

  before(function () {
    requireSocat(this);
  });

  function next(topic: string, pred: (e: VoiceEvent) => boolean = () => true, timeoutMs = 5000): Promise<VoiceEvent> {
    return new Promise((resolve, reject) => {
      const check = (e: VoiceEvent): boolean => {
        if (e.topic !== topic || !pred(e)) return false;
        clearTimeout(t);
        line!.off('event', onEvent);
        resolve(e);
        return true;
      };
      const onEvent = (e: VoiceEvent): void => void check(e);
      const t = setTimeout(() => {
        line!.off('event', onEvent);
        reject(new Error(`no ${topic} within ${timeoutMs} ms: ${events.map((e) => e.topic)}`));
      }, timeoutMs);
      if (!events.some(check)) line!.on('event', onEvent);
    });
  }

  beforeEach(async () => {
    modem = new EmulatedModem('ec600n', { timing: FAST_MODEM });
    pair = await ptyPair();
    modemPort = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: pair!.b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    modem.attach(modemPort);
    line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: pair.a, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
    events = [];
    line.on('event', (e: VoiceEvent) => events.push(e));
    const up = next('line-up');
    line.acquire('test');
    await up;
  });

  afterEach(async () => {
    await line?.release('test');
    line = null;
    modem.close();
    const p = modemPort;
    modemPort = null;
    await new Promise<void>((resolve) => (p?.isOpen ? p.close(() => resolve()) : resolve()));
    await pair?.close();
    pair = null;
  });

  it('incoming call with DTMF gather: answer, the far end presses 123#, the gather gives 123 (finish-key)', async () => {
    assert.ok(modem.commands.includes('AT+QTONEDET=1'), 'tone detection switched on at start');
    const incoming = next('incoming');
    modem.incomingCall('+4930123456');
    const inc = await incoming;
    await line!.answer(inc.call!.id);
    const gather = await line!.dtmf.collect(inc.call!.id, { finishKey: '#', firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000 });
    modem.pressDigits('123#', 50);
    assert.deepEqual(await gather.result, { digits: '123', reason: 'finish-key' });
    assert.deepEqual(
      events.filter((e) => e.topic === 'dtmf').map((e) => [e.call?.id, e.payload.digit]),
      [...'123#'].map((d) => [inc.call!.id, d]),
    );
  });

  it('sends digits into the call as AT+VTS="<digits>",<tenths>', async () => {
    const r = await line!.dialAndWait('5551234');
    assert.equal(r.answered, true);
    await line!.dtmf.send(r.call.id, '9*0#', { durationMs: 200 });
    assert.ok(modem.commands.includes('AT+VTS="9*0#",2'), modem.commands.join(' '));
    assert.equal(modem.feature<EmulatorDtmf>('dtmf').heard, '9*0#');
  });
});
