import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ANALYSIS_FRAME_SAMPLES } from '../../lib/analysis/analyser';
import { EnergyVad, VoiceActivityDetector, WebRtcVad } from '../../lib/analysis/vad';
import { concat, silence, whiteNoise } from '../../lib/media/tone-generator';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';

/** The VAD's verdict on each 20 ms frame of `pcm`. */
function verdicts(vad: VoiceActivityDetector, pcm: Int16Array): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i + ANALYSIS_FRAME_SAMPLES <= pcm.length; i += ANALYSIS_FRAME_SAMPLES) out.push(vad.isVoice(pcm.subarray(i, i + ANALYSIS_FRAME_SAMPLES)));
  return out;
}

const share = (xs: boolean[]): number => xs.filter(Boolean).length / Math.max(1, xs.length);

describe('voice activity detection (lib/analysis/vad.ts)', () => {
  describe('EnergyVad (app_amd’s fixed threshold)', () => {
    it('calls a frame voice from a mean absolute value of 256, silence just under it', () => {
      const vad = new EnergyVad();
      const frame = (v: number): Int16Array => Int16Array.from({ length: ANALYSIS_FRAME_SAMPLES }, (_, i) => (i % 2 ? v : -v));
      assert.equal(vad.isVoice(frame(255)), false);
      assert.equal(vad.isVoice(frame(256)), true);
      assert.equal(new EnergyVad({ threshold: 100 }).isVoice(frame(100)), true);
      assert.equal(new EnergyVad({ threshold: 100 }).isVoice(frame(99)), false);
    });

    it('calls steady white noise at −35 dBFS voice (the weakness a real VAD removes)', () => {
      assert.ok(share(verdicts(new EnergyVad(), whiteNoise(2000, -35, 3))) > 0.95);
    });

    it('rejects bad options with a TypeError naming them', () => {
      assert.throws(() => new EnergyVad({ threshold: 0 }), /"threshold"/);
      assert.throws(() => new EnergyVad('x' as never), TypeError);
    });
  });

  describe('WebRtcVad (libfvad as WebAssembly)', () => {
    it('hears no voice in digital silence, nor in steady white noise once it has adapted (mode 0 and 3)', () => {
      for (const mode of [0, 3] as const) {
        assert.equal(share(verdicts(new WebRtcVad({ mode }), silence(2000))), 0, `mode ${mode}: silence`);
        const noisy = verdicts(new WebRtcVad({ mode }), whiteNoise(4000, -35, 3));
        assert.ok(share(noisy.slice(50)) < 0.1, `mode ${mode}: noise called voice in ${share(noisy.slice(50))} of frames after 1 s`);
      }
    });

    it('is synchronous per frame and frees its state; use after free() throws, free() twice does not', () => {
      const vad = new WebRtcVad();
      assert.equal(typeof vad.isVoice(new Int16Array(ANALYSIS_FRAME_SAMPLES)), 'boolean');
      vad.free();
      vad.free();
      assert.throws(() => vad.isVoice(new Int16Array(ANALYSIS_FRAME_SAMPLES)), /after free/);
    });

    it('takes frames of another length without throwing (padded or cut to 20 ms)', () => {
      const vad = new WebRtcVad();
      assert.equal(typeof vad.isVoice(new Int16Array(80)), 'boolean');
      assert.equal(typeof vad.isVoice(new Int16Array(400)), 'boolean');
      vad.free();
    });

    it('rejects a mode outside 0–3', () => {
      assert.throws(() => new WebRtcVad({ mode: 4 as never }), /"mode"/);
    });

    it('gives the same verdicts in a worker thread as in the main thread', async () => {
      const pcm = concat([silence(500), whiteNoise(600, -12, 5), silence(800), whiteNoise(300, -20, 6), silence(500)]);
      const here = verdicts(new WebRtcVad(), pcm);
      const vadPath = join(__dirname, '../../lib/analysis/vad.js');
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const { WebRtcVad } = require(workerData.vadPath);
        const vad = new WebRtcVad();
        const out = [];
        for (let i = 0; i + 160 <= workerData.pcm.length; i += 160) out.push(vad.isVoice(workerData.pcm.subarray(i, i + 160)));
        parentPort.postMessage(out);`;
      const there = await new Promise<boolean[]>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { vadPath, pcm } });
        w.once('message', (m: boolean[]) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
      assert.deepEqual(there, here);
      assert.ok(here.includes(true) && here.includes(false));
    });
  });

  describe('on the corpus (G.711, three levels, background noise)', function () {
    this.timeout(600_000);
    let fixture: CorpusFixture;
    before(function () {
      fixture = corpusFixture(this);
    });

    it('WebRTC VAD (mode 0) hears most of the people’s speech and little of the silence before it; the energy threshold hears the noise', () => {
      let speechFrames: boolean[] = [];
      let beforeFrames: boolean[] = [];
      let energyBefore: boolean[] = [];
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        if (label.class !== 'human') continue;
        const pcm = fixture.audio(file);
        const v = verdicts(new WebRtcVad({ mode: 0 }), pcm);
        const e = verdicts(new EnergyVad(), pcm);
        const a = Math.ceil((label.speechStartMs as number) / 20);
        const firstWordEnd = a + 20; // the first 400 ms of speech
        speechFrames = speechFrames.concat(v.slice(a, firstWordEnd));
        // Before speech, past the VAD's first 200 ms (its noise model settling).
        beforeFrames = beforeFrames.concat(v.slice(10, a - 2));
        if (label.noiseDbfs !== undefined && label.noiseDbfs >= -37 && label.levelDb === 0) energyBefore = energyBefore.concat(e.slice(10, a - 2));
      }
      assert.ok(share(speechFrames) > 0.6, `speech heard in ${share(speechFrames).toFixed(2)} of its frames`);
      assert.ok(share(beforeFrames) < 0.05, `voice heard before speech in ${share(beforeFrames).toFixed(2)} of the frames`);
      assert.ok(energyBefore.length > 0 && share(energyBefore) > 0.9, `energy threshold: ${share(energyBefore).toFixed(2)} of noise frames called voice`);
    });
  });
});
