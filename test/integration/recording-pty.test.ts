import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { decodeWav, parseWav } from '../../lib/media/wav-reader';
import { recordingResult } from '../helpers/audio-harness';
import { PtyLine, ptyLines } from '../helpers/pty-line';

/**
 * A recording downloaded from the module through the REAL serialport binding: the line opens one end
 * of a socat pseudo-terminal pair as it opens /dev/ttyUSB2, the emulated EC25 sits on the other end,
 * and the file's bytes (`AT+QFDWL`) travel through the pty like any other.
 */
describe('recording downloaded from the module (socat pty)', function () {
  this.timeout(30000);
  const open = ptyLines();
  let pty: PtyLine;
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voice-rec-pty-'));
    pty = await open({ profile: 'ec25' });
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers, records WAV, the far end hangs up, and the file lands here with the right duration', async () => {
    const incoming = pty.next('incoming');
    pty.modem.incomingCall('+4930123456');
    const inc = await incoming;
    const answered = pty.next('answered');
    await pty.line.answer(inc.call!.id);
    await answered;

    const rec = await pty.line.audio.record(inc.call!.id, { mode: 'file', format: 'wav', direction: 'rx', path: dir, deleteOnModule: true });
    const result = recordingResult(rec);
    await new Promise((r) => setTimeout(r, 1500));
    const ended = pty.next('ended');
    pty.modem.remoteHangup();
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
    assert.equal(pty.modem.feature<EmulatorAudio>('audio').files.size, 0, 'deleted on the module');
    const sent = pty.modem.commands.filter((c) => /^AT\+(QAUDRD|QF)/.test(c)).map((c) => c.replace(/"[^"]+"/, '"F"'));
    assert.deepEqual(sent, ['AT+QAUDRD=?', 'AT+QAUDRD=1,"F",13,1', 'AT+QAUDRD=0', 'AT+QFLST="F"', 'AT+QFDWL="F"', 'AT+QFDEL="F"']);
  });
});
