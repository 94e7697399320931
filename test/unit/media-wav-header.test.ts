import assert from 'node:assert/strict';
import { DATA_SIZE_OFFSET, RIFF_SIZE_OFFSET, WAV_HEADER_SIZE, wavHeader } from '../../lib/media/wav-header';
import { parseWav } from '../../lib/media/wav-reader';

describe('WAV header', () => {
  it('writes the canonical 44-byte 16-bit PCM header', () => {
    const h = wavHeader(8000, 1, 1600);
    assert.equal(h.length, WAV_HEADER_SIZE);
    assert.equal(h.toString('latin1', 0, 4), 'RIFF');
    assert.equal(h.readUInt32LE(RIFF_SIZE_OFFSET), 36 + 1600);
    assert.equal(h.toString('latin1', 8, 16), 'WAVEfmt ');
    assert.deepEqual(
      [h.readUInt32LE(16), h.readUInt16LE(20), h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(32), h.readUInt16LE(34)],
      [16, 1, 1, 8000, 16000, 2, 16],
    );
    assert.equal(h.toString('latin1', 36, 40), 'data');
    assert.equal(h.readUInt32LE(DATA_SIZE_OFFSET), 1600);
  });

  it('is read back by the reader, stereo at 16 kHz too', () => {
    const file = Buffer.concat([wavHeader(16000, 2, 8), Buffer.alloc(8)]);
    assert.deepEqual(parseWav(file), { encoding: 'pcm16', sampleRate: 16000, channels: 2, dataOffset: 44, dataBytes: 8, truncated: false });
  });
});
