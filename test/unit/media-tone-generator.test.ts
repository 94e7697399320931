import assert from 'node:assert/strict';
import {
  DTMF_KEYPAD,
  beep,
  concat,
  dbfsToAmplitude,
  dtmfFrequencies,
  dtmfSequence,
  dtmfTone,
  ringback,
  silence,
  tones,
  whiteNoise,
} from '../../lib/media/tone-generator';

/** The amplitude of `hz` in `x` (a single-bin DFT, normalised so a sine of amplitude A gives A). */
function amplitudeAt(x: Int16Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos((2 * Math.PI * hz * i) / 8000);
    im += x[i] * Math.sin((2 * Math.PI * hz * i) / 8000);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

const peak = (x: Int16Array): number => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const rms = (x: Int16Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

describe('tone generator', () => {
  it('knows the DTMF keypad frequencies', () => {
    assert.deepEqual(dtmfFrequencies('1'), [697, 1209]);
    assert.deepEqual(dtmfFrequencies('0'), [941, 1336]);
    assert.deepEqual(dtmfFrequencies('#'), [941, 1477]);
    assert.deepEqual(dtmfFrequencies('d'), [941, 1633]);
    assert.deepEqual(DTMF_KEYPAD.join(''), '123A456B789C*0#D');
    assert.throws(() => dtmfFrequencies('x'), /"digit"/);
  });

  it('makes a DTMF tone of the requested length, frequencies and level (dBFS per tone)', () => {
    const x = dtmfTone('5', 100, { levelDbfs: -6 });
    assert.equal(x.length, 800);
    const a = dbfsToAmplitude(-6);
    assert.ok(Math.abs(amplitudeAt(x, 770) - a) < a * 0.01);
    assert.ok(Math.abs(amplitudeAt(x, 1336) - a) < a * 0.01);
    assert.ok(amplitudeAt(x, 697) < a * 0.05);
  });

  it('applies twist and frequency factors', () => {
    const x = dtmfTone('1', 200, { levelDbfs: -10, twistDb: -6, lowFactor: 1.015 });
    assert.ok(Math.abs(20 * Math.log10(amplitudeAt(x, 1209) / amplitudeAt(x, 697 * 1.015)) + 6) < 0.1);
  });

  it('clips instead of wrapping when the sum exceeds full scale', () => {
    const x = dtmfTone('1', 50, { levelDbfs: 0 });
    assert.ok(peak(x) >= 32767, 'reaches full scale');
    x.forEach((v, i) => {
      const sum = 32767 * (Math.sin((2 * Math.PI * 697 * i) / 8000) + Math.sin((2 * Math.PI * 1209 * i) / 8000));
      assert.equal(v, Math.max(-32768, Math.min(32767, Math.round(sum))), `sample ${i}`);
    });
  });

  it('sequences keys with gaps', () => {
    const x = dtmfSequence('12', 50, 30);
    assert.equal(x.length, 2 * (400 + 240));
    assert.equal(peak(x.subarray(400, 640)), 0);
  });

  it('makes ETSI ring-back (425 Hz, 1 s on, 4 s off) and US ring-back (440 + 480 Hz, 2 s on, 4 s off)', () => {
    const etsi = ringback(6000);
    assert.equal(etsi.length, 48000);
    assert.ok(amplitudeAt(etsi.subarray(0, 8000), 425) > 1000);
    assert.equal(peak(etsi.subarray(8000, 40000)), 0);
    assert.ok(peak(etsi.subarray(40000, 48000)) > 1000, 'the next ring');
    const us = ringback(7000, { style: 'us' });
    assert.ok(amplitudeAt(us.subarray(0, 16000), 440) > 1000 && amplitudeAt(us.subarray(0, 16000), 480) > 1000);
    assert.equal(peak(us.subarray(16000, 48000)), 0);
    assert.ok(peak(us.subarray(48000)) > 1000);
    assert.throws(() => ringback(100, { style: 'uk' as 'us' }), /"style" must be one of etsi, us/);
  });

  it('makes a 1000 Hz beep at a level, and silence', () => {
    const b = beep(100);
    assert.ok(Math.abs(amplitudeAt(b, 1000) - dbfsToAmplitude(-10)) < 50);
    assert.equal(silence(20).length, 160);
    assert.equal(peak(silence(20)), 0);
    assert.throws(() => beep(10, 5000), /"hz"/);
    assert.throws(() => silence(-1), /"durationMs"/);
  });

  it('makes reproducible white noise at an RMS level', () => {
    const n = whiteNoise(1000, -20, 42);
    assert.deepEqual(n, whiteNoise(1000, -20, 42));
    assert.notDeepEqual(n, whiteNoise(1000, -20, 43));
    const expected = dbfsToAmplitude(-20) / Math.SQRT2;
    assert.ok(Math.abs(rms(n) - expected) < expected * 0.05, `${rms(n)} vs ${expected}`);
  });

  it('sums tones and joins pieces', () => {
    assert.equal(tones([], 10).length, 80);
    assert.deepEqual(concat([Int16Array.from([1]), Int16Array.from([2, 3])]), Int16Array.from([1, 2, 3]));
  });
});
