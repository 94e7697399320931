import assert from 'node:assert/strict';
import { fitSine, ToneDetector, ToneSegment } from '../../lib/analysis/tone-detector';
import { mixMono } from '../../lib/media/pcm-convert';
import { beep, concat, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { Law, throughG711 } from '../helpers/dtmf-edges';

/** The tones found in `audio`, pushed in 20 ms frames. */
function detect(audio: Int16Array): ToneSegment[] {
  const d = new ToneDetector();
  const out: ToneSegment[] = [];
  for (let i = 0; i < audio.length; i += 160) out.push(...d.push(audio.subarray(i, i + 160)));
  out.push(...d.end());
  return out;
}

describe('lib/analysis ToneDetector', () => {
  it('finds single tones of 440–2000 Hz, 150 ms to 1 s, with noise 25 dB under them, through G.711, at several levels: frequency within 1 %, end within 20 ms', () => {
    for (const hz of [440, 850, 1000, 1400, 2000]) {
      for (const ms of [150, 400, 1000]) {
        for (const level of [-6, -20, -35]) {
          for (const law of ['ulaw', 'alaw'] as Law[]) {
            const clean = concat([silence(300), beep(ms, hz, level), silence(300)]);
            const audio = throughG711(mixMono(clean, whiteNoise(clean.length / 8, level - 25, hz + ms)), law);
            const found = detect(audio);
            const what = `${hz} Hz ${ms} ms ${level} dBFS ${law}: ${JSON.stringify(found)}`;
            assert.equal(found.length, 1, what);
            assert.ok(Math.abs(found[0].frequencyHz / hz - 1) < 0.01, what);
            assert.ok(Math.abs(found[0].endMs - (300 + ms)) <= 20, what);
            assert.ok(Math.abs(found[0].durationMs - ms) <= 20, what);
          }
        }
      }
    }
  });

  it('keeps a 500 ms tone whole with noise 20 dB under it (≥ 47 of 50 beeps of 440–2000 Hz, through μ-law)', () => {
    let whole = 0;
    for (const hz of [440, 600, 1000, 1400, 2000]) {
      for (let seed = 1; seed <= 10; seed++) {
        const lead = 300 + seed * 7;
        const clean = concat([silence(lead), beep(500, hz, -15), silence(300)]);
        const found = detect(throughG711(mixMono(clean, whiteNoise(clean.length / 8, -35, seed * 31 + hz)), 'ulaw'));
        if (found.length === 1 && Math.abs(found[0].endMs - (lead + 500)) <= 20 && Math.abs(found[0].frequencyHz / hz - 1) < 0.01) whole++;
      }
    }
    assert.ok(whole >= 47, `${whole} of 50`);
  });

  it('finds nothing in two tones at once (busy), white noise, silence or a tone under its level floor', () => {
    assert.deepEqual(detect(tones([{ hz: 480, levelDbfs: -16 }, { hz: 620, levelDbfs: -16 }], 2000)), []);
    assert.deepEqual(detect(whiteNoise(3000, -10)), []);
    assert.deepEqual(detect(silence(1000)), []);
    assert.deepEqual(detect(concat([silence(200), beep(500, 1000, -50), silence(200)])), []);
  });

  it('returns each tone once, when it ends, with pushFrame on the caller\'s time line; current() shows the tone in progress', () => {
    const d = new ToneDetector();
    const audio = concat([silence(200), beep(600, 1000, -10), silence(400)]);
    const seen: { atMs: number; tones: readonly ToneSegment[] }[] = [];
    let midway: ToneSegment | null = null;
    for (let i = 0, atMs = 5020; i < audio.length; i += 160, atMs += 20) {
      const found = d.pushFrame(audio.subarray(i, i + 160), atMs);
      if (found.length) seen.push({ atMs, tones: found });
      if (atMs === 5000 + 600) midway = d.current();
    }
    assert.equal(seen.length, 1);
    const [t] = seen[0].tones;
    assert.ok(Math.abs(t.endMs - 5800) <= 20 && Math.abs(t.startMs - 5200) <= 20, JSON.stringify(t));
    assert.ok(seen[0].atMs - 5800 <= 40, `returned at ${seen[0].atMs}`);
    assert.ok(midway && Math.abs(midway.frequencyHz - 1000) < 10 && Math.abs(midway.durationMs - 400) <= 30, JSON.stringify(midway));
  });

  it('pushFrame: a second push of the same frame time (an analyser sharing the detector) returns the same tones without analysing again', () => {
    const shared = new ToneDetector();
    const alone = new ToneDetector();
    const audio = concat([silence(100), beep(300, 800, -10), silence(200)]);
    const a: ToneSegment[] = [];
    const b: ToneSegment[] = [];
    const c: ToneSegment[] = [];
    for (let i = 0, atMs = 20; i < audio.length; i += 160, atMs += 20) {
      const frame = audio.subarray(i, i + 160);
      a.push(...shared.pushFrame(frame, atMs));
      b.push(...shared.pushFrame(frame, atMs));
      c.push(...alone.pushFrame(frame, atMs));
    }
    assert.equal(c.length, 1);
    assert.deepEqual(a, c);
    assert.deepEqual(b, c);
  });

  it('fitSine: a pure sine fits with no residual at its exact frequency; noise and two tones far apart leave a large residual', () => {
    for (const hz of [300, 440, 1000, 1776.7, 3000]) {
      const fit = fitSine(beep(20, hz, -10), 0, 160);
      assert.ok(Math.abs((Math.acos(fit.cos) * 8000) / (2 * Math.PI) - hz) < 0.5 && fit.residual < 0.001, `${hz} Hz: ${JSON.stringify(fit)}`);
    }
    assert.ok(fitSine(whiteNoise(20, -10, 3), 0, 160).residual > 0.5);
    // Over ToneDetector's purity limit (0.1); close pairs (480 + 620 Hz) are left to its Goertzel check.
    assert.ok(fitSine(tones([{ hz: 697, levelDbfs: -10 }, { hz: 1477, levelDbfs: -10 }], 20), 0, 160).residual > 0.15);
    assert.equal(fitSine(silence(20), 0, 160).residual, 1);
  });

  it('validates its options with a TypeError naming them', () => {
    assert.throws(() => new ToneDetector({ minHz: 10 }), /"minHz"/);
    assert.throws(() => new ToneDetector({ maxResidual: 0 }), /"maxResidual"/);
  });
});
