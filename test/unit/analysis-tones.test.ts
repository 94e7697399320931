import assert from 'node:assert/strict';
import { classifyTone, sitFromTones } from '../../lib/analysis/call-tones';
import { ToneDetector, ToneSegment } from '../../lib/analysis/tone-detector';
import { mixMono } from '../../lib/media/pcm-convert';
import { beep, concat, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { Law, throughG711 } from '../helpers/dtmf-edges';

/** The tones found in `audio`, pushed in 20 ms frames. */
function detect(audio: Int16Array): ToneSegment[] {
  const d = new ToneDetector();
  const out: ToneSegment[] = [];
  d.on('tone', (t) => out.push(t));
  for (let i = 0; i < audio.length; i += 160) d.push(audio.subarray(i, i + 160));
  d.end();
  return out;
}

describe('lib/analysis ToneDetector and classifyTone', () => {
  it('finds beeps of 440–2000 Hz, 150 ms to 1 s, with noise 25 dB under them, through G.711, at several levels: frequency within 1 %, end within 20 ms', () => {
    for (const hz of [440, 850, 1000, 1400, 2000]) {
      for (const ms of [150, 400, 1000]) {
        for (const level of [-6, -20, -35]) {
          for (const law of ['ulaw', 'alaw'] as Law[]) {
            const clean = concat([silence(300), beep(ms, hz, level), silence(300)]);
            const audio = throughG711(mixMono(clean, whiteNoise(clean.length / 8, level - 25, hz + ms)), law);
            const found = detect(audio).filter((t) => classifyTone(t) === 'beep');
            const what = `${hz} Hz ${ms} ms ${level} dBFS ${law}: ${JSON.stringify(found)}`;
            assert.equal(found.length, 1, what);
            assert.ok(Math.abs(found[0].frequencyHz / hz - 1) < 0.01, what);
            assert.ok(Math.abs(found[0].endMs - (300 + ms)) <= 20, what);
          }
        }
      }
    }
  });

  it('reports no beep for a 100 ms tone, two tones at once (busy), white noise, or silence', () => {
    assert.deepEqual(detect(concat([silence(200), beep(100, 1000), silence(200)])).filter((t) => classifyTone(t) === 'beep'), []);
    assert.deepEqual(detect(tones([{ hz: 480, levelDbfs: -16 }, { hz: 620, levelDbfs: -16 }], 2000)), []);
    assert.deepEqual(detect(whiteNoise(3000, -10)), []);
    assert.deepEqual(detect(silence(1000)), []);
  });

  it('tells fax CNG (1100 Hz, 0.5 s) and CED (2100 Hz) from beeps', () => {
    const cng = concat([silence(200), beep(500, 1100, -15), silence(3000), beep(500, 1100, -15), silence(500)]);
    assert.deepEqual(detect(throughG711(cng, 'alaw')).map(classifyTone), ['fax-cng', 'fax-cng']);
    assert.deepEqual(detect(concat([silence(200), beep(3000, 2100, -12), silence(300)])).map(classifyTone), ['fax-ced']);
  });

  it('decodes SIT codes from three segments and their outcome', () => {
    const sit = (segments: [number, number][]): Int16Array => concat([silence(200), ...segments.flatMap(([hz, ms]) => [beep(ms, hz, -20), silence(2)]), silence(300)]);
    const cases: [[number, number][], string, string][] = [
      [[[913.8, 274], [1370.6, 274], [1776.7, 380]], 'IC', 'not-found'],
      [[[985.2, 380], [1370.6, 274], [1776.7, 380]], 'VC', 'not-found'],
      [[[913.8, 380], [1370.6, 380], [1776.7, 380]], 'NC', 'unavailable'],
      [[[913.8, 380], [1428.5, 274], [1776.7, 380]], 'RO', 'unavailable'],
    ];
    for (const [segments, code, outcome] of cases) {
      const found = detect(throughG711(sit(segments), 'ulaw'));
      assert.deepEqual(found.map(classifyTone), ['sit-segment', 'sit-segment', 'sit-segment'], code);
      assert.deepEqual(sitFromTones(found), { code, outcome });
    }
    // A 1000 Hz beep is not a SIT segment, and two segments are no SIT.
    assert.equal(classifyTone({ frequencyHz: 1000, startMs: 0, endMs: 300, durationMs: 300, levelDbfs: -10 }), 'beep');
    assert.equal(sitFromTones(detect(sit([[913.8, 274], [1370.6, 274]]))), null);
  });

  it('validates its options with a TypeError naming them', () => {
    assert.throws(() => new ToneDetector({ minHz: 10 }), /"minHz"/);
    assert.throws(() => new ToneDetector({ maxResidual: 0 }), /"maxResidual"/);
  });
});
