import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DtmfDetection, DtmfRejection, GoertzelDtmfDetector, GoertzelDtmfOptions } from '../../lib/media/goertzel-dtmf';
import { mixMono } from '../../lib/media/pcm-convert';
import { DTMF_KEYS, DetectResult, EdgePress, Law, detectAll, edgePressAudio } from '../helpers/dtmf-edges';
import { DtmfToneOptions, concat, dtmfSequence, dtmfTone, silence, tones, whiteNoise } from '../../lib/media/tone-generator';

const KEYS = DTMF_KEYS;

interface Result {
  digits: DtmfDetection[];
  rejects: DtmfRejection[];
}

/** Runs audio through a fresh detector in chunks of `chunk` samples (all at once by default), then ends it. */
function detect(audio: Int16Array, options?: GoertzelDtmfOptions, chunks?: readonly number[]): Result {
  const d = new GoertzelDtmfDetector(options);
  const result: Result = { digits: [], rejects: [] };
  d.on('digit', (e) => result.digits.push(e));
  d.on('reject', (e) => result.rejects.push(e));
  if (!chunks) d.push(audio);
  else {
    let at = 0;
    for (let i = 0; at < audio.length; i++) {
      const n = chunks[i % chunks.length];
      d.push(audio.subarray(at, at + n));
      at += n;
    }
  }
  d.end();
  return result;
}

const keysOf = (r: Result): string => r.digits.map((d) => d.digit).join('');

/** One key with silence around it. */
function press(key: string, ms: number, options?: DtmfToneOptions): Int16Array {
  return concat([silence(30), dtmfTone(key, ms, options), silence(60)]);
}

describe('GoertzelDtmfDetector (ITU-T Q.24)', () => {
  it('detects every key at its nominal frequencies, once, with its timing', () => {
    for (const key of KEYS) {
      const r = detect(press(key, 80));
      assert.equal(keysOf(r), key);
      const [d] = r.digits;
      assert.ok(Math.abs(d.startMs - 30) <= 2.5, `${key} starts at ${d.startMs}`);
      assert.ok(Math.abs(d.durationMs - 80) <= 2.5, `${key} lasts ${d.durationMs}`);
      assert.ok(Math.abs(d.lowDbfs + 10) < 0.5 && Math.abs(d.highDbfs + 10) < 0.5);
    }
  });

  it('accepts tones within ±1.5 % of nominal (either tone, either way, both at once)', () => {
    for (const key of KEYS) {
      for (const f of [0.985, 1.015]) {
        for (const o of [{ lowFactor: f }, { highFactor: f }, { lowFactor: f, highFactor: f }, { lowFactor: f, highFactor: 2 - f }]) {
          const r = detect(press(key, 50, o));
          assert.equal(keysOf(r), key, `${key} ${JSON.stringify(o)}: ${JSON.stringify(r.rejects)}`);
        }
      }
    }
  });

  it('rejects tones ±3.5 % off nominal', () => {
    for (const key of KEYS) {
      for (const f of [0.965, 1.035]) {
        for (const o of [{ lowFactor: f }, { highFactor: f }]) {
          const r = detect(press(key, 80, o));
          assert.equal(keysOf(r), '', `${key} ${JSON.stringify(o)}`);
          assert.deepEqual(r.rejects.map((e) => e.reason), ['frequency']);
        }
      }
    }
  });

  it('measures the frequencies to within 1 Hz', () => {
    const [d] = detect(press('5', 60, { lowFactor: 1.012, highFactor: 0.99 })).digits;
    assert.ok(Math.abs(d.lowHz - 770 * 1.012) < 1, String(d.lowHz));
    assert.ok(Math.abs(d.highHz - 1336 * 0.99) < 1, String(d.highHz));
  });

  it('rejects 22 ms, accepts 40 ms (Q.24: under 23 ms rejected, 40 ms accepted; limit 30 ms)', () => {
    for (const key of '1#D') {
      const short = detect(press(key, 22));
      assert.equal(keysOf(short), '');
      assert.equal(short.rejects[0]?.reason, 'too-short');
      assert.equal(keysOf(detect(press(key, 40))), key);
    }
    assert.equal(keysOf(detect(press('1', 45), { minDurationMs: 50 })), '');
  });

  it('accepts twist at the limits (high tone 8 dB weaker, 4 dB stronger) and rejects 2 dB beyond', () => {
    assert.equal(keysOf(detect(press('9', 60, { twistDb: -8 }))), '9');
    assert.equal(keysOf(detect(press('9', 60, { twistDb: 4 }))), '9');
    for (const twistDb of [-10, 6]) {
      const r = detect(press('9', 60, { twistDb }));
      assert.equal(keysOf(r), '', `twist ${twistDb}`);
      assert.equal(r.rejects[0].reason, 'twist');
    }
    assert.equal(keysOf(detect(press('9', 60, { twistDb: 6 }), { reverseTwistDb: 7 })), '9');
  });

  it('measures twist to within 0.5 dB on 40 ms tones with noise, also for key 0 (941/1336 Hz, whose leak between filters a 2.5 ms hop cannot average out)', () => {
    for (const key of '0*D5') {
      for (const twistDb of [-8, 0, 4]) {
        for (const seed of [1, 2, 3]) {
          const r = detectAll(edgePressAudio({ key, toneMs: 40, levelDbfs: -12, twistDb, snrDb: 15, law: 'ulaw', seed }));
          const e = r.digits[0] ?? r.rejects[0];
          assert.ok(e, `${key} ${twistDb} dB: nothing`);
          const measured = e.highDbfs - e.lowDbfs;
          assert.ok(Math.abs(measured - twistDb) <= 0.5, `${key} twist ${twistDb} dB measured ${measured.toFixed(2)}`);
        }
      }
    }
  });

  it('hears nothing in white noise, a lone tone, or a harmonic buzz (speech-like)', () => {
    assert.equal(keysOf(detect(whiteNoise(3000, -6))), '');
    assert.equal(keysOf(detect(tones([{ hz: 697, levelDbfs: -6 }], 500))), '');
    const buzz = concat(
      [110, 123, 137, 150, 170, 190].map((f0) => tones(Array.from({ length: 30 }, (_, h) => ({ hz: f0 * (h + 1), levelDbfs: -20 - 1.5 * h })).filter((t) => t.hz < 3900), 300)),
    );
    assert.equal(keysOf(detect(buzz)), '');
    const twoRows = tones([697, 770, 1209].map((hz) => ({ hz, levelDbfs: -12 })), 100);
    assert.equal(keysOf(detect(twoRows)), '', 'two tones of one group');
  });

  it('still detects with noise 15 dB below the tones', () => {
    const clean = dtmfSequence('159#', 60, 60);
    // Each tone at −10 dBFS: together −7 dBFS; noise at −22 dBFS RMS-equivalent.
    const noisy = mixMono(clean, whiteNoise(clean.length / 8, -22, 7));
    assert.equal(keysOf(detect(noisy)), '159#');
  });

  it('ignores tones quieter than −40 dBFS', () => {
    assert.equal(keysOf(detect(press('2', 60, { levelDbfs: -45 }))), '');
    assert.equal(keysOf(detect(press('2', 60, { levelDbfs: -36 }))), '2');
  });

  it('gives exactly "123#" for keys with 50 ms gaps, and two presses of one key for 40 ms gaps', () => {
    assert.equal(keysOf(detect(dtmfSequence('123#', 60, 50))), '123#');
    assert.equal(keysOf(detect(dtmfSequence('55', 50, 40))), '55');
  });

  it('bridges a 10 ms interruption inside a tone', () => {
    const broken = concat([dtmfTone('7', 40), silence(10), dtmfTone('7', 40), silence(50)]);
    const r = detect(broken);
    assert.equal(keysOf(r), '7');
    assert.ok(r.digits[0].durationMs >= 85);
  });

  it('does not depend on how the audio is cut into chunks (fast-check)', () => {
    const audio = concat([dtmfSequence('123#', 60, 50), whiteNoise(100, -30), dtmfSequence('A0*', 45, 45, { twistDb: -3 })]);
    const whole = detect(audio);
    assert.equal(keysOf(whole), '123#A0*');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }), (chunks) => {
        assert.deepEqual(detect(audio, undefined, chunks), whole);
      }),
      { numRuns: 40 },
    );
  });

  it('validates its options with a TypeError naming them', () => {
    assert.throws(() => new GoertzelDtmfDetector({ minDurationMs: 5 }), /"minDurationMs"/);
    assert.throws(() => new GoertzelDtmfDetector({ maxFrequencyError: 0.2 }), /"maxFrequencyError"/);
    assert.throws(() => new GoertzelDtmfDetector({ normalTwistDb: -1 }), /"normalTwistDb"/);
  });

  it('starts again from zero after reset()', () => {
    const d = new GoertzelDtmfDetector();
    const seen: DtmfDetection[] = [];
    d.on('digit', (e) => seen.push(e));
    d.push(dtmfTone('1', 30));
    d.reset();
    d.push(press('2', 60));
    d.end();
    assert.deepEqual(seen.map((e) => e.digit), ['2']);
    assert.ok(Math.abs(seen[0].startMs - 30) <= 2.5);
  });
});

/**
 * Q.24's limits with a margin: each case is every key, at three levels, clean and with white noise
 * 15 dB under the weaker tone (three seeds, the tone starting anywhere within a hop), through no
 * codec, G.711 μ-law and A-law. Each limit is tested on both sides.
 */
describe('GoertzelDtmfDetector at the Q.24 edges (noise, G.711, levels)', () => {
  const LEVELS = [-10, -20, -30];
  const LAWS: Law[] = ['none', 'ulaw', 'alaw'];
  const NOISE: { snrDb?: number; seed: number }[] = [{ seed: 1 }, { snrDb: 15, seed: 2 }, { snrDb: 15, seed: 3 }, { snrDb: 15, seed: 4 }];

  /** The presses of `press` over every key, level, codec and noise, and what the detector made of each. */
  function sweep(press: Omit<EdgePress, 'key' | 'levelDbfs' | 'law' | 'seed' | 'snrDb'>): { press: EdgePress; result: DetectResult }[] {
    const out: { press: EdgePress; result: DetectResult }[] = [];
    for (const key of DTMF_KEYS) {
      for (const levelDbfs of LEVELS) {
        for (const law of LAWS) {
          for (const { snrDb, seed } of NOISE) {
            const p: EdgePress = { ...press, key, levelDbfs, law, snrDb, seed };
            out.push({ press: p, result: detectAll(edgePressAudio(p)) });
          }
        }
      }
    }
    return out;
  }

  function assertAllAccepted(press: Omit<EdgePress, 'key' | 'levelDbfs' | 'law' | 'seed' | 'snrDb'>): void {
    for (const { press: p, result } of sweep(press)) {
      assert.deepEqual(result.digits.map((d) => d.digit), [p.key], `${JSON.stringify(p)}: ${JSON.stringify(result.rejects)}`);
    }
  }

  function assertAllRejected(press: Omit<EdgePress, 'key' | 'levelDbfs' | 'law' | 'seed' | 'snrDb'>, reasons: string[]): void {
    for (const { press: p, result } of sweep(press)) {
      assert.deepEqual(result.digits, [], JSON.stringify(p));
      for (const e of result.rejects) assert.ok(reasons.includes(e.reason), `${JSON.stringify(p)}: ${e.reason}`);
    }
  }

  it('accepts twist of −8 dB and +4 dB', () => {
    assertAllAccepted({ toneMs: 40, twistDb: -8 });
    assertAllAccepted({ toneMs: 40, twistDb: 4 });
  });

  it('rejects twist of −10 dB and +6 dB', () => {
    // At −30 dBFS a −10 dB high tone is also below the −40 dBFS floor.
    assertAllRejected({ toneMs: 40, twistDb: -10 }, ['twist', 'level']);
    assertAllRejected({ toneMs: 40, twistDb: 6 }, ['twist']);
  });

  it('accepts ±1.5 % on both tones, also with twist at its limits', () => {
    assertAllAccepted({ toneMs: 40, lowFactor: 0.985, highFactor: 1.015 });
    assertAllAccepted({ toneMs: 40, lowFactor: 1.015, highFactor: 0.985 });
    assertAllAccepted({ toneMs: 40, lowFactor: 1.015, highFactor: 1.015, twistDb: -8 });
    assertAllAccepted({ toneMs: 40, lowFactor: 0.985, highFactor: 0.985, twistDb: 4 });
  });

  it('rejects ±3.5 % on either tone', () => {
    for (const f of [0.965, 1.035]) {
      assertAllRejected({ toneMs: 40, lowFactor: f }, ['frequency']);
      assertAllRejected({ toneMs: 40, highFactor: f }, ['frequency']);
    }
  });

  it('accepts a 40 ms tone (after G.711 it can measure 37.5 ms) and rejects a 22 ms one', () => {
    assertAllAccepted({ toneMs: 40 });
    assertAllRejected({ toneMs: 22 }, ['too-short']);
  });
});
