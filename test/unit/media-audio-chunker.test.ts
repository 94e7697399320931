import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AudioChunk, AudioChunker } from '../../lib/media/audio-chunker';
import { pcm16leToInt16 } from '../../lib/media/g711';

const ramp = (n: number, from = 0): Int16Array => Int16Array.from({ length: n }, (_, i) => (from + i) % 32768);

describe('AudioChunker', () => {
  it('makes 100 ms chunks (800 samples) by default, with the design §3 message shape', () => {
    const c = new AudioChunker();
    const chunks = [...c.push(ramp(1000)), ...c.push(ramp(700, 1000))];
    assert.equal(chunks.length, 2);
    assert.deepEqual(chunks[0].audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: 0, timestamp: 0 });
    assert.deepEqual(chunks[1].audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: 1, timestamp: 100 });
    assert.ok(Buffer.isBuffer(chunks[0].payload));
    assert.equal(chunks[0].payload.length, 1600);
    assert.deepEqual(pcm16leToInt16(chunks[1].payload), ramp(800, 800));
    const last = c.flush();
    assert.deepEqual(last?.audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: 2, timestamp: 200 });
    assert.deepEqual(pcm16leToInt16(last?.payload as Buffer), ramp(100, 1600));
    assert.equal(c.flush(), null);
  });

  it('chunks 20 ms packets into 1 s chunks, stereo, and tells the direction', () => {
    const c = new AudioChunker({ chunkMs: 1000, channels: 2, direction: 'both' });
    const out: AudioChunk[] = [];
    for (let i = 0; i < 120; i++) out.push(...c.push(ramp(320, i)));
    assert.equal(out.length, 2);
    assert.equal(out[1].audio.timestamp, 1000);
    assert.equal(out[1].audio.channels, 2);
    assert.equal(out[1].audio.direction, 'both');
    assert.equal(out[0].payload.length, 32000);
    const rest = c.flush();
    assert.equal(rest?.payload.length, 20 * 320 * 2);
    assert.equal(rest?.audio.timestamp, 2000);
  });

  it('drops half a stereo frame at flush', () => {
    const c = new AudioChunker({ channels: 2, chunkMs: 20 });
    c.push(Int16Array.from([1, 2, 3]));
    assert.deepEqual([...pcm16leToInt16(c.flush()?.payload as Buffer)], [1, 2]);
  });

  it('loses no sample and keeps order whatever the packet sizes (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 900 }), { maxLength: 30 }), fc.integer({ min: 20, max: 1000 }), (sizes, chunkMs) => {
        const c = new AudioChunker({ chunkMs });
        const chunks: AudioChunk[] = [];
        let total = 0;
        for (const n of sizes) {
          chunks.push(...c.push(ramp(n, total)));
          total += n;
        }
        const last = c.flush();
        if (last) chunks.push(last);
        const all = chunks.flatMap((ch) => [...pcm16leToInt16(ch.payload)]);
        assert.deepEqual(all, [...ramp(total)]);
        chunks.forEach((ch, i) => {
          assert.equal(ch.audio.seq, i);
          assert.equal(ch.audio.timestamp, i * chunkMs);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('validates its options with a TypeError naming them', () => {
    assert.throws(() => new AudioChunker({ chunkMs: 10 }), { name: 'TypeError', message: /"chunkMs" must be a whole number from 20 to 1000, got number 10/ });
    assert.throws(() => new AudioChunker({ chunkMs: 1001 }), /"chunkMs"/);
    assert.throws(() => new AudioChunker({ channels: 3 as 1 }), /"channels" must be one of 1, 2/);
    assert.throws(() => new AudioChunker({ direction: 'in' as 'rx' }), /"direction" must be one of rx, tx, both/);
    assert.throws(() => new AudioChunker(null as never), /AudioChunker options must be an object/);
  });
});
