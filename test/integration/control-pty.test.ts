import { strict as assert } from 'node:assert';
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { PtyPair, ptyPair, requireSocat } from '../helpers/pty-pair';
import { FAST_MODEM, memoryLog } from '../helpers/at-harness';

/**
 * Call waiting with swap through the REAL serialport native binding: the line opens one end of a
 * socat pseudo-terminal pair, the emulated module sits on the other end.
 */
describe('call waiting with swap over a real serial port (socat pty)', function () {
  this.timeout(20000);
  let pair: PtyPair | null = null;
  let modemPort: SerialPort | null = null;
  let modem: EmulatedModem | null = null;
  let line: VoiceLine | null = null;
  let events: VoiceEvent[];

  before(function () {
    requireSocat(this);
  });

  async function open(profile: string): Promise<void> {
    pair = await ptyPair(5000);
    modem = new EmulatedModem(profile, { timing: FAST_MODEM });
    modemPort = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: pair!.b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    modem.attach(modemPort);
    line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: pair.a, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
    events = [];
    line.on('event', (e: VoiceEvent) => events.push(e));
    const up = next((e) => e.topic === 'line-up');
    line.acquire('test');
    await up;
  }

  /** The first event from now on (or already seen and not yet taken) that matches. */
  const taken = new Set<VoiceEvent>();
  function next(match: (e: VoiceEvent) => boolean, timeoutMs = 8000): Promise<VoiceEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const e = events.find((x) => !taken.has(x) && match(x));
        if (!e) return false;
        taken.add(e);
        clearTimeout(t);
        line!.off('event', check);
        resolve(e);
        return true;
      };
      const t = setTimeout(() => {
        line?.off('event', check);
        reject(new Error(`no matching event within ${timeoutMs} ms: ${events.map((e) => e.topic)}`));
      }, timeoutMs);
      if (!check()) line!.on('event', check);
    });
  }

  afterEach(async () => {
    await line?.release('test');
    line = null;
    modem?.close();
    modem = null;
    const p = modemPort;
    modemPort = null;
    await new Promise<void>((resolve) => (p?.isOpen ? p.close(() => resolve()) : resolve()));
    await pair?.close();
    pair = null;
  });

  for (const [profile, endOne] of [
    ['ec600n', (idx: number) => `AT+QHUP=16,${idx}`],
    ['generic', (idx: number) => `AT+CHLD=1${idx}`],
  ] as const) {
    it(`${profile}: active call, a second caller waits, answer it (first held), swap, hang up one, the other remains`, async () => {
      await open(profile);
      const l = line!;
      const m = modem!;
      const first = await l.dialAndWait('5551234');
      assert.equal(first.answered, true);
      const a = first.call;

      m.incomingCall('+4930123456');
      const waiting = await next((e) => e.topic === 'waiting');
      assert.equal(waiting.call?.remote.number, '+4930123456');
      const b = l.activeCalls().find((c) => c.id === waiting.call?.id)!;

      await l.answer(b.id);
      await next((e) => e.topic === 'held' && e.call?.id === a.id);
      assert.equal(b.state, 'active');

      const swapped = await l.control.swap();
      assert.equal(swapped.active, a);
      assert.equal(a.state, 'active');
      assert.equal(b.state, 'held');

      const idxA = a.index!;
      await l.hangup(a.id);
      const end = await next((e) => e.topic === 'ended' && e.call?.id === a.id);
      assert.equal(end.payload.by, 'local');
      assert.ok(m.commands.includes(endOne(idxA)), `${endOne(idxA)} in ${m.commands.join(' ')}`);

      // The other call remains, held, on the line and on the module.
      assert.deepEqual(l.activeCalls(), [b]);
      assert.deepEqual(m.calls.map((c) => [c.idx, c.state]), [[b.index, 'held']]);
      await l.control.resume(b.id);
      assert.equal(b.state, 'active');

      assert.equal(m.commands.filter((c) => c === 'AT+CHLD=2').length, 3, 'answer-waiting, swap, resume');
      const topics = (id: string) => events.filter((e) => e.call?.id === id).map((e) => e.topic);
      assert.deepEqual(topics(a.id).slice(-4), ['answered', 'held', 'resumed', 'ended']);
      assert.deepEqual(topics(b.id), ['waiting', 'answered', 'held', 'resumed']);
    });
  }
});
