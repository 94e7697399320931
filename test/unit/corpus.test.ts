import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav } from '../../lib/media/wav-reader';
import { Corpus, CorpusLabel, LabelledTone } from '../../scripts/make-corpus';
import { corpusFixture } from '../helpers/analysis-corpus';
import { powerAt } from '../helpers/audio-spectrum';

/**
 * The call-analysis corpus generator (scripts/make-corpus.ts): it runs, and its labels say what the
 * files hold: lengths, and every labelled tone (beeps, fax, SIT, busy) measured at its frequency.
 */

const BLOCK = 160; // 20 ms: the Goertzel bin (50 Hz) holds ANSam's 15 Hz sidebands

/** The share of the energy of `pcm[from, to)` at the frequencies `hz`, averaged over 20 ms blocks. */
function toneShare(pcm: Int16Array, from: number, to: number, hz: readonly number[]): number {
  let share = 0;
  let blocks = 0;
  for (let a = from; a + BLOCK <= to; a += BLOCK) {
    const block = pcm.subarray(a, a + BLOCK);
    const energy = block.reduce((s, x) => s + x * x, 0);
    if (energy === 0) continue;
    share += hz.reduce((s, f) => s + powerAt(block, f), 0) / ((BLOCK / 2) * energy);
    blocks++;
  }
  return blocks ? share / blocks : 0;
}

function meanSquare(pcm: Int16Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += pcm[i] * pcm[i];
  return e / Math.max(1, to - from);
}

describe('the call-analysis corpus (scripts/make-corpus.ts)', function () {
  this.timeout(900_000);
  let dir = '';
  let corpus: Corpus;
  const audio = new Map<string, Int16Array>();

  before(function () {
    // Generated once per mocha process, shared with the analysers' corpus tests.
    const fixture = corpusFixture(this);
    dir = fixture.dir;
    corpus = fixture.corpus;
    for (const file of Object.keys(corpus.files)) audio.set(file, fixture.audio(file));
  });

  it('writes labels.json as returned, and every labelled file as 8 kHz 16-bit mono WAV of the labelled length', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')), JSON.parse(JSON.stringify(corpus)));
    assert.equal(corpus.seed, 13);
    for (const [file, label] of Object.entries(corpus.files)) {
      const buf = readFileSync(join(dir, file));
      const info = parseWav(buf);
      assert.deepEqual([info.sampleRate, info.channels, info.encoding], [8000, 1, 'pcm16'], file);
      const samples = info.dataBytes / 2;
      assert.ok(Math.abs((samples * 1000) / 8000 - label.durationMs) <= 1, `${file}: ${samples} samples, label ${label.durationMs} ms`);
    }
  });

  it('covers every class, both G.711 laws and three levels, machines with and without a beep and with music', () => {
    const labels = Object.values(corpus.files);
    const count = (f: (l: CorpusLabel) => boolean): number => labels.filter(f).length;
    for (const cls of ['human', 'machine', 'fax', 'sit', 'busy', 'congestion'] as const) assert.ok(count((l) => l.class === cls) > 0, cls);
    assert.ok(count((l) => l.class === 'human') >= 20 && count((l) => l.class === 'machine') >= 20);
    assert.deepEqual(new Set(labels.map((l) => l.law)), new Set(['ulaw', 'alaw']));
    assert.ok(new Set(labels.map((l) => l.levelDb)).size >= 3);
    assert.ok(count((l) => l.class === 'machine' && l.beepEndMs !== null) >= 10);
    assert.ok(count((l) => l.class === 'machine' && l.beepEndMs === null) >= 3);
    assert.ok(count((l) => l.class === 'machine' && (l.musicMs ?? 0) > 0) >= 3);
    assert.ok(count((l) => l.class === 'human' && l.noiseDbfs !== undefined) >= 5);
    assert.deepEqual(new Set(labels.filter((l) => l.class === 'fax').map((l) => l.tone)), new Set(['CNG', 'CED', 'ANSam']));
    // Busy and congestion of several numbering plans, some over line noise.
    for (const cls of ['busy', 'congestion']) assert.ok(new Set(labels.filter((l) => l.class === cls).map((l) => l.plan)).size >= 3, cls);
    assert.ok(count((l) => (l.class === 'busy' || l.class === 'congestion') && l.noiseDbfs !== undefined) >= 2);
    for (const l of labels.filter((x) => x.class === 'machine')) {
      const greetingMs = (l.speechEndMs ?? 0) - (l.speechStartMs ?? 0);
      assert.ok(greetingMs >= 2500 && greetingMs <= 20000, `greeting of ${greetingMs} ms`);
      if (l.beepHz) assert.ok(l.beepHz >= 440 && l.beepHz <= 2000);
    }
  });

  it('has each labelled tone at its frequency (≥ 80 % of the energy there, little 50 Hz beside it), and silence after each beep', () => {
    let checked = 0;
    for (const [file, label] of Object.entries(corpus.files)) {
      const pcm = audio.get(file) as Int16Array;
      for (const t of label.tones) {
        const at = (t2: LabelledTone): [number, number] => {
          const margin = ((t2.endMs - t2.startMs) * 8) / 5; // the middle 60 %
          return [Math.round(t2.startMs * 8 + margin), Math.round(t2.endMs * 8 - margin)];
        };
        const [from, to] = at(t);
        const share = toneShare(pcm, from, to, t.hz);
        assert.ok(share >= 0.8, `${file}: ${t.kind} ${t.hz.join('+')} Hz at ${t.startMs}–${t.endMs} ms holds ${share.toFixed(2)}`);
        // 50 Hz off is the first null of a 20 ms block: a tone that is where the label says has
        // (nearly) nothing there; one 4 % off (e.g. 1040 Hz for 1000) has most of its energy there.
        const besideHz = t.hz.map((f) => f + 50);
        const beside = toneShare(pcm, from, to, besideHz);
        assert.ok(beside < 0.3, `${file}: ${t.kind} also at ${besideHz.join('+')} Hz (${beside.toFixed(2)})`);
        checked++;
      }
      if (label.class === 'machine') {
        const beeps = label.tones.filter((t) => t.kind === 'beep');
        assert.equal(beeps.length, label.beepEndMs === null ? 0 : 1, file);
        for (const b of beeps) {
          assert.equal(b.endMs, label.beepEndMs);
          const during = meanSquare(pcm, b.startMs * 8, b.endMs * 8);
          const after = meanSquare(pcm, (b.endMs + 10) * 8, (b.endMs + 110) * 8);
          assert.ok(after < during / 100, `${file}: the beep goes on after ${b.endMs} ms`);
        }
      }
    }
    assert.ok(checked >= 40, `${checked} tones checked`);
  });

  it('puts speech where the labels say: loud inside, quiet before it starts (people and machines)', () => {
    for (const [file, label] of Object.entries(corpus.files)) {
      if (label.speechStartMs === undefined || label.speechEndMs === undefined || label.class === 'sit') continue;
      const pcm = audio.get(file) as Int16Array;
      const before = meanSquare(pcm, Math.max(0, label.speechStartMs - 150) * 8, Math.max(0, label.speechStartMs - 20) * 8);
      // Its first 400 ms (the first word: a person's "Hello? … Hello?" has a wait inside).
      const during = meanSquare(pcm, label.speechStartMs * 8, Math.min(label.speechEndMs, label.speechStartMs + 400) * 8);
      if (label.musicMs) continue; // music ends just before the greeting
      assert.ok(during > 4 * before, `${file}: speech at ${label.speechStartMs} ms is not louder than before it`);
    }
  });
});
