import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { FarEndAnalyser } from '../../lib/analysis/far-end';
import type { Corpus, CorpusSplit } from '../../scripts/make-corpus';
import { feedCall } from '../helpers/analysis-call';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';

/**
 * The far-end classifier with its defaults on the labelled corpus (people and machines through
 * G.711, three levels, noise, music; docs/call-analysis.md), each half on its own: the issue's
 * targets (people → human ≥ 97 %, people → machine ≤ 2 %, machines → machine ≥ 95 %), which the
 * held-out half (never used to choose the rules) meets as docs/benchmarks.md says, so that a change
 * that loses them fails.
 */

const classify = (pcm: Int16Array): AnalysisEvent[] => feedCall(new FarEndAnalyser(), pcm, { totalMs: 60_000 });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

type FarEndEvent = Extract<AnalysisEvent, { topic: 'far-end' }>;

describe('far-end classifier on the corpus', function () {
  this.timeout(900_000);
  let fixture: CorpusFixture;
  let corpus: Corpus;
  const results = new Map<string, AnalysisEvent[]>();
  before(function () {
    fixture = corpusFixture(this);
    corpus = fixture.corpus;
    for (const [file, label] of Object.entries(corpus.files)) if (label.class === 'human' || label.class === 'machine') results.set(file, classify(fixture.audio(file)));
  });

  const verdicts = (cls: string, split: CorpusSplit): { file: string; v: FarEndEvent }[] =>
    [...results].filter(([f]) => corpus.files[f].class === cls && corpus.files[f].split === split).map(([file, e]) => ({ file, v: e.find((x) => x.topic === 'far-end') as FarEndEvent }));

  for (const split of ['held-out', 'tuning'] as const) {
    it(`${split} half: people → human ≥ 97 %, → machine ≤ 2 %, every person decided by the 5 s timeout`, () => {
      const people = verdicts('human', split);
      assert.equal(people.length, 60);
      const human = people.filter((p) => p.v.farEnd === 'human');
      const machine = people.filter((p) => p.v.farEnd === 'machine');
      assert.ok(human.length >= 0.97 * people.length, `${human.length}/${people.length} human: ${people.filter((p) => p.v.farEnd !== 'human').map((p) => `${p.file} ${p.v.farEnd}`)}`);
      assert.ok(machine.length <= 0.02 * people.length, `${machine.length}/${people.length} machine: ${machine.map((p) => p.file)}`);
      for (const p of people) assert.ok(p.v.decisionMs <= 5000, `${p.file}: ${p.v.decisionMs} ms`);
      // The issue's target: median ≤ 2.5 s (2.40 s held-out, 2.46 s tuning: docs/benchmarks.md).
      assert.ok(median(human.map((p) => p.v.decisionMs)) <= 2500, `median ${median(human.map((p) => p.v.decisionMs))} ms`);
    });

    it(`${split} half: machines → machine ≥ 95 %, by the timeout, and their greeting ends after its last sound`, () => {
      const machines = verdicts('machine', split);
      assert.equal(machines.length, 60);
      const found = machines.filter((m) => m.v.farEnd === 'machine');
      assert.ok(found.length >= 0.95 * machines.length, `${found.length}/${machines.length}: ${machines.filter((m) => m.v.farEnd !== 'machine').map((m) => `${m.file} ${m.v.farEnd}`)}`);
      for (const m of found) {
        assert.ok(m.v.decisionMs <= 5000, `${m.file}: ${m.v.decisionMs} ms`);
        const end = (results.get(m.file) as AnalysisEvent[]).find((e) => e.topic === 'greeting-end');
        assert.ok(end && end.topic === 'greeting-end' && end.by === 'silence', `${m.file}: ${JSON.stringify(end)}`);
        const label = corpus.files[m.file];
        const lastSound = label.beepEndMs ?? (label.speechEndMs as number);
        // Without a beep the classifier's greeting-end is what a call reports: close after the
        // greeting. With one, a call reports the beep (call-analyser.ts), and the classifier's own
        // end may come later (hiss after a loud beep held libfvad's "voice" 1.2 s in one file).
        if (label.beepEndMs === null) assert.ok(end.atMs > lastSound && end.atMs < lastSound + 1600, `${m.file}: greeting-end at ${end.atMs}, last sound ends ${lastSound}`);
        else assert.ok(end.atMs > lastSound, `${m.file}: greeting-end at ${end.atMs}, before the beep's end ${lastSound}`);
      }
    });
  }
});
