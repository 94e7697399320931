import assert from 'node:assert/strict';
import { clamp16, decimate16kTo8k, interleave, mixMono, stereoToMono } from '../../lib/media/pcm-convert';

describe('PCM conversions', () => {
  it('mixes two legs, saturating and padding the shorter', () => {
    assert.deepEqual([...mixMono(Int16Array.from([1, 30000, -30000]), Int16Array.from([2, 30000]))], [3, 32767, -30000]);
    assert.deepEqual([...mixMono(Int16Array.from([-30000]), Int16Array.from([-30000]))], [-32768]);
    // Equal lengths (a recording's tick), into a given array: both ways saturated.
    const out = new Int16Array(3);
    assert.equal(mixMono(Int16Array.from([30000, 1, -30000]), Int16Array.from([30000, -3, -30000]), out), out);
    assert.deepEqual([...out], [32767, -2, -32768]);
  });

  it('interleaves two legs into stereo and mixes stereo back to mono', () => {
    const st = interleave(Int16Array.from([1, 2, 3]), Int16Array.from([10, 20]));
    assert.deepEqual([...st], [1, 10, 2, 20, 3, 0]);
    assert.deepEqual([...stereoToMono(Int16Array.from([32767, 32767, -32768, -32768, 3, -4, 9]))], [32767, -32768, -1]);
  });

  it('decimates 16 kHz to 8 kHz: half the samples, DC kept', () => {
    const dc = new Int16Array(400).fill(1000);
    const out = decimate16kTo8k(dc);
    assert.equal(out.length, 200);
    assert.ok(out.subarray(30, 170).every((v) => Math.abs(v - 1000) <= 1));
    assert.equal(decimate16kTo8k(new Int16Array(1)).length, 0);
  });

  it('clamps to 16 bits', () => {
    assert.deepEqual([clamp16(40000), clamp16(-40000), clamp16(5)], [32767, -32768, 5]);
  });
});
