import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { decodeWav, parseWav } from '../../lib/media/wav-reader';
import { FAST_MODEM, memoryLog } from '../helpers/at-harness';
import { recordingResult } from '../helpers/audio-harness';
import { PtyPair, ptyPair, requireSocat } from '../helpers/pty-pair';

/**
 * A recording downloaded from the module through the REAL serialport binding: the line opens one end
 * of a socat pseudo-terminal pair as it opens /dev/ttyUSB2, the emulated EC25 sits on the other end,
 * and the file's bytes (`AT+QFDWL`) travel through the pty like any other.
 */
describe('recording downloaded from the module (socat pty)', function () {
  this.timeout(30000);
  let pair: PtyPair | null = null;
  let modemPort: SerialPort | null = null;
  let modem: EmulatedModem;
  let line: VoiceLine | null = null;
  let dir: string;

  before(function () {
    requireSocat(this);
  });

  function next(topic: string, timeoutMs = 8000): Promise<VoiceEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${topic} within ${timeoutMs} ms`)), timeoutMs);
      const check = (e: VoiceEvent) => {
        if (e.topic !== topic) return;
        clearTimeout(t);
        line!.off('event', check);
        resolve(e);
      };
      line!.on('event', check);
    });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voice-rec-pty-'));
    modem = new EmulatedModem('ec25', { timing: FAST_MODEM });
    pair = await ptyPair(5000);
    modemPort = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: pair!.b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    modem.attach(modemPort);
    line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: pair.a, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
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
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers, records WAV, the far end hangs up, and the file lands here with the right duration', async () => {
    const incoming = next('incoming');
    modem.incomingCall('+4930123456');
    const inc = await incoming;
    const answered = next('answered');
    await line!.answer(inc.call!.id);
    await answered;

    const rec = await line!.audio.record(inc.call!.id, { mode: 'file', format: 'wav', direction: 'rx', path: dir, deleteOnModule: true });
    const result = recordingResult(rec);
    await new Promise((r) => setTimeout(r, 1500));
    const ended = next('ended');
    modem.remoteHangup();
    await ended;
    const r = await result;

    assert.deepEqual(readdirSync(dir), [r.path!.slice(dir.length + 1)]);
    const file = readFileSync(r.path!);
    assert.equal(file.length, r.bytes);
    assert.ok(file.length > 16000, 'about 1.5 s of 8 kHz 16-bit audio crossed the pty');
    const info = parseWav(file);
    assert.equal(info.encoding, 'pcm16');
    assert.equal(info.sampleRate, 8000);
    assert.equal(info.channels, 1);
    assert.ok(Math.abs(r.durationMs - 1500) <= 150, `duration ${r.durationMs} ms, expected 1500 ± 10 %`);
    // The far end's 1 kHz tone, intact: every byte of the binary transfer arrived unchanged.
    const samples = decodeWav(file);
    assert.equal(samples[2], Math.round(32767 * 10 ** (-10 / 20)));
    assert.equal(modem.feature<EmulatorAudio>('audio').files.size, 0, 'deleted on the module');
    const sent = modem.commands.filter((c) => /^AT\+(QAUDRD|QF)/.test(c)).map((c) => c.replace(/"[^"]+"/, '"F"'));
    assert.deepEqual(sent, ['AT+QAUDRD=?', 'AT+QAUDRD=1,"F",13,1', 'AT+QAUDRD=0', 'AT+QFLST="F"', 'AT+QFDWL="F"', 'AT+QFDEL="F"']);
  });
});
