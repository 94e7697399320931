import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { LineStatus } from '../../lib/backend';
import { PtyPair, ptyPair, requireSocat } from '../helpers/pty-pair';
import { FAST_MODEM, memoryLog } from '../helpers/at-harness';

/**
 * The AT backend through the REAL serialport native binding: the line opens one end of a socat
 * pseudo-terminal pair, exactly as it opens /dev/ttyUSB2; the emulated module sits on the other end.
 */
describe('AT backend over a real serial port (socat pty)', function () {
  this.timeout(20000);
  let dir: string;
  let pair: PtyPair | null = null;
  let modemPort: SerialPort | null = null;
  let modem: EmulatedModem;
  let line: VoiceLine | null = null;
  let events: VoiceEvent[];
  let statuses: LineStatus[];

  before(function () {
    requireSocat(this);
  });

  /** Plugs the module in: a new pty pair under the same paths, the modem on side b. */
  async function plug(): Promise<string> {
    pair = await ptyPair(5000, dir);
    modemPort = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: pair!.b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    modem.attach(modemPort);
    return pair.a;
  }

  async function unplug(): Promise<void> {
    const p = modemPort;
    modemPort = null;
    await new Promise<void>((resolve) => (p?.isOpen ? p.close(() => resolve()) : resolve()));
    await pair?.close();
    pair = null;
  }

  function next(topic: string, timeoutMs = 5000): Promise<VoiceEvent> {
    const seen = events.length;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${topic} within ${timeoutMs} ms: ${events.map((e) => e.topic)}`)), timeoutMs);
      const check = (e: VoiceEvent) => {
        if (e.topic !== topic) return;
        clearTimeout(t);
        line!.off('event', check);
        resolve(e);
      };
      for (const e of events.slice(seen)) check(e);
      line!.on('event', check);
    });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voice-pty-'));
    modem = new EmulatedModem('ec600n', { timing: FAST_MODEM });
    const path = await plug();
    line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: path, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
    events = [];
    statuses = [];
    line.on('event', (e: VoiceEvent) => events.push(e));
    line.on('status', (s: LineStatus) => statuses.push(s));
    const up = next('line-up');
    line.acquire('test');
    await up;
  });

  afterEach(async () => {
    await line?.release('test');
    line = null;
    modem.close();
    await unplug();
    rmSync(dir, { recursive: true, force: true });
  });

  it('receives, answers and ends a call', async () => {
    assert.equal(line!.backend?.kind, 'at');
    const incoming = next('incoming');
    modem.incomingCall('+4930123456');
    const inc = await incoming;
    assert.equal(inc.call?.remote.number, '+4930123456');
    const answered = next('answered');
    await line!.answer(inc.call!.id);
    await answered;
    const ended = next('ended');
    modem.remoteHangup();
    const end = await ended;
    assert.equal(end.payload.cause, 'normal');
    assert.equal(end.payload.by, 'remote');
  });

  it('reports busy with the modem evidence', async () => {
    const r = await line!.dialAndWait('555486');
    assert.equal(r.answered, false);
    assert.equal(r.end?.cause, 'busy');
    assert.equal(r.end?.q850, 17);
    assert.ok(modem.commands.includes('ATD555486;'));
  });

  it('goes red when the device disappears, and comes back with the call still up', async () => {
    const r = await line!.dialAndWait('5551234');
    assert.equal(r.answered, true);
    const down = next('line-down');
    await unplug();
    await down;
    assert.ok(statuses.some((s) => s.state === 'error'), JSON.stringify(statuses));
    const up = next('line-up');
    await plug();
    await up;
    // The module kept the call while the cable was out: AT+CLCC still lists it, so it is not ended.
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(events.filter((e) => e.topic === 'ended').length, 0);
    assert.equal(line!.activeCalls()[0]?.id, r.call.id);
    const ended = next('ended');
    await line!.hangup(r.call.id);
    assert.equal((await ended).payload.by, 'local');
    assert.ok(dirname(pair!.a) === dir);
  });
});
