import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, VoiceError } from '../../lib/errors';
import { amrDurationMs, wavDurationMs } from '../../lib/at/features/audio-file-info';
import { moduleFileName, parseQaudrdTest } from '../../lib/at/features/audio';
import { checkModuleFileName, parseQfdwl, parseQflst, qfdwlChecksum } from '../../lib/at/module-files';
import { openSource, recordingFileName } from '../../lib/line/line-audio';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { int16ToPcm16le } from '../../lib/media/g711';
import { beep, dtmfSequence, ringback, silence } from '../../lib/media/tone-generator';
import { wavHeader } from '../../lib/media/wav-header';
import { drain } from '../helpers/pcm-sources';

/** openSource as a flow would call it, drained. */
async function decodeSource(source: unknown): Promise<Int16Array> {
  return drain(await openSource(source, { maxBytes: 50 * 1024 * 1024 }));
}

describe('module files: checksum, parsers, names', function () {
  it('qfdwlChecksum is the XOR of big-endian 16-bit words; an odd last byte is a high half', function () {
    assert.equal(qfdwlChecksum(Buffer.from([0x12, 0x34, 0x56, 0x78])), 0x1234 ^ 0x5678);
    assert.equal(qfdwlChecksum(Buffer.from([0x12, 0x34, 0xab])), 0x1234 ^ 0xab00);
    assert.equal(qfdwlChecksum(Buffer.alloc(0)), 0);
    assert.equal(qfdwlChecksum(Buffer.from('OK\r\n')), 0x4f4b ^ 0x0d0a);
  });

  it('reads +QFLST and +QFDWL lines, tolerantly', function () {
    assert.deepEqual(parseQflst('+QFLST: "call1_x.wav",1234'), { name: 'call1_x.wav', size: 1234 });
    assert.deepEqual(parseQflst('+QFLST: "UFS:a.amr", 6'), { name: 'UFS:a.amr', size: 6 });
    assert.equal(parseQflst('+QFLST: "a.wav"'), null);
    assert.deepEqual(parseQfdwl('+QFDWL: 10,613e'), { size: 10, checksum: 0x613e });
    assert.deepEqual(parseQfdwl('+QFDWL: 10,613E'), { size: 10, checksum: 0x613e });
    assert.equal(parseQfdwl('+QFDWL: ten,1'), null);
  });

  it('refuses file names a command could not carry safely', function () {
    for (const bad of ['', 'a"b.wav', '../x.wav', 'a b.wav', 'x'.repeat(81), 'a\r\n.wav']) {
      assert.throws(() => checkModuleFileName(bad), InvalidInputError, bad);
    }
    assert.equal(checkModuleFileName('call1_20261122171005123.wav'), 'call1_20261122171005123.wav');
  });

  it('reads the AT+QAUDRD=? lists, lists and ranges', function () {
    assert.deepEqual(parseQaudrdTest('+QAUDRD: (0,1),"filename",(3,13),(0,1)'), { formats: [3, 13], dlinks: [0, 1] });
    assert.deepEqual(parseQaudrdTest('+QAUDRD: (0-1),"filename",(3,13),(0-2)'), { formats: [3, 13], dlinks: [0, 1, 2] });
    assert.equal(parseQaudrdTest('+QAUDRD: (0,1),"filename"'), null);
    assert.equal(parseQaudrdTest('+QAUDRD: (0,1),"f",(x),(0)'), null);
  });

  it('names module files by call index and start time, to the millisecond', function () {
    const call = new Call({ line: 'L', direction: 'inbound', remote: { number: '+49 30 12' }, state: CallState.Active, reason: { text: 't' }, index: 2 });
    assert.equal(moduleFileName(call, 'wav', new Date('2026-11-22T17:10:05.123Z')), 'call2_20261122171005123.wav');
    assert.equal(recordingFileName(call, 'amr', new Date('2026-11-22T17:10:05.123Z')), `20261122-171005_+493012_${call.id.slice(0, 8)}.amr`);
  });
});

describe('recording file durations', function () {
  it('WAV: from the data chunk', function () {
    const pcm = int16ToPcm16le(beep(1500));
    assert.equal(wavDurationMs(Buffer.concat([wavHeader(8000, 1, pcm.length), pcm])), 1500);
    assert.equal(wavDurationMs(Buffer.from('not a wav')), null);
  });

  it('AMR: 20 ms a frame; unknown frame types end the count', function () {
    const frame122 = Buffer.concat([Buffer.from([0x3c]), Buffer.alloc(31)]);
    const frame475 = Buffer.concat([Buffer.from([0x04]), Buffer.alloc(12)]);
    const noData = Buffer.from([0x7c]);
    const file = Buffer.concat([Buffer.from('#!AMR\n'), frame122, frame475, noData, frame122]);
    assert.equal(amrDurationMs(file), 80);
    assert.equal(amrDurationMs(Buffer.concat([file, Buffer.from([0x4c, 1, 2])])), 80, 'type 9 is not in files');
    assert.equal(amrDurationMs(Buffer.concat([file, frame122.subarray(0, 10)])), 80, 'a frame cut short');
    assert.equal(amrDurationMs(Buffer.from('RIFF....')), null);
  });
});

describe('what can be played', function () {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'voice-play-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tones by name', async function () {
    assert.deepEqual(await decodeSource('beep'), beep(500));
    assert.deepEqual(await decodeSource('beep:120'), beep(120));
    assert.deepEqual(await decodeSource('ringback'), ringback(5000));
    assert.deepEqual(await decodeSource('silence:300'), silence(300));
    assert.deepEqual(await decodeSource('dtmf:12#'), dtmfSequence('12#', 100, 100));
  });

  it('a Buffer: WAV bytes, or raw 16-bit PCM; an Int16Array as it is', async function () {
    const tone = beep(100);
    const pcm = int16ToPcm16le(tone);
    assert.deepEqual(await decodeSource(pcm), tone);
    assert.deepEqual(await decodeSource(Buffer.concat([wavHeader(8000, 1, pcm.length), pcm])), tone);
    assert.deepEqual(await decodeSource(tone), tone);
  });

  it('a WAV file path', async function () {
    const pcm = int16ToPcm16le(beep(100));
    const path = join(dir, 'p.wav');
    writeFileSync(path, Buffer.concat([wavHeader(8000, 1, pcm.length), pcm]));
    assert.deepEqual(await decodeSource(path), beep(100));
  });

  it('refuses what it cannot play, saying why', async function () {
    const cases: [unknown, RegExp][] = [
      [Buffer.from([1, 2, 3]), /even number of bytes/],
      [Buffer.from('RIFF\0\0\0\0WAVEjunk'), /msg.payload: /],
      ['silence', /silence needs a length/],
      ['beep:5', /must last 20 to 600000 ms/],
      ['hello', /neither a tone .* nor a \.wav file/],
      [join(dir, 'missing.wav'), /cannot play .*missing\.wav: it does not exist$/],
      [42, /must be a Buffer/],
      [Buffer.alloc(0), /is empty/],
    ];
    for (const [source, message] of cases) {
      await assert.rejects(decodeSource(source), (e: Error) => e instanceof VoiceError && message.test(e.message), String(source));
    }
  });
});
