import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { FarEndAnalyser } from '../../lib/analysis/far-end';
import type { Corpus } from '../../scripts/make-corpus';
import { feedCall } from '../helpers/analysis-call';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';

/**
 * The far-end classifier with its defaults on the labelled corpus (people and machines through
 * G.711, three levels, noise, music): the hard limit (people called machine) and the
 * figures reached when it was written (docs/benchmarks.md), so that a change that loses them fails.
 */

const classify = (pcm: Int16Array): AnalysisEvent[] => feedCall(new FarEndAnalyser(), pcm, { totalMs: 60_000 });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

describe('far-end classifier on the corpus', function () {
  this.timeout(600_000);
  let fixture: CorpusFixture;
  let corpus: Corpus;
  const results = new Map<string, AnalysisEvent[]>();
  before(function () {
    fixture = corpusFixture(this);
    corpus = fixture.corpus;
    for (const [file, label] of Object.entries(corpus.files)) if (label.class === 'human' || label.class === 'machine') results.set(file, classify(fixture.audio(file)));
  });

  const verdicts = (cls: string): { file: string; v: Extract<AnalysisEvent, { topic: 'far-end' }> }[] =>
    [...results].filter(([f]) => corpus.files[f].class === cls).map(([file, e]) => ({ file, v: e.find((x) => x.topic === 'far-end') as Extract<AnalysisEvent, { topic: 'far-end' }> }));

  it('calls no person a machine, and at least 20 of the 24 people human, with a median decision time ≤ 2.5 s', () => {
    const people = verdicts('human');
    assert.equal(people.length, 24);
    assert.deepEqual(people.filter((p) => p.v.farEnd === 'machine').map((p) => p.file), []);
    const human = people.filter((p) => p.v.farEnd === 'human');
    assert.ok(human.length >= 20, `${human.length}/24 human`);
    assert.ok(median(human.map((p) => p.v.decisionMs)) <= 2500, `median ${median(human.map((p) => p.v.decisionMs))} ms`);
    // The others are unknown at the timeout: never a guess.
    for (const p of people.filter((x) => x.v.farEnd !== 'human')) assert.deepEqual([p.v.farEnd, p.v.decisionMs], ['unknown', 5000], p.file);
  });

  it('calls at least 23 of the 24 machines machine, before the 5 s timeout, and ends their greeting after the speech', () => {
    const machines = verdicts('machine');
    const found = machines.filter((m) => m.v.farEnd === 'machine');
    assert.ok(found.length >= 23, `${found.length}/24: ${machines.filter((m) => m.v.farEnd !== 'machine').map((m) => m.file)}`);
    for (const m of found) {
      assert.ok(m.v.decisionMs < 5000, `${m.file}: ${m.v.decisionMs} ms`);
      const end = (results.get(m.file) as AnalysisEvent[]).find((e) => e.topic === 'greeting-end');
      assert.ok(end && end.topic === 'greeting-end' && end.by === 'silence', `${m.file}: ${JSON.stringify(end)}`);
      const label = corpus.files[m.file];
      const lastSound = label.beepEndMs ?? (label.speechEndMs as number);
      assert.ok(end.atMs > lastSound && end.atMs < lastSound + 1600, `${m.file}: greeting-end at ${end.atMs}, last sound ends ${lastSound}`);
    }
  });
});
