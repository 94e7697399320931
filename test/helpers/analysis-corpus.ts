/**
 * For the call-analysis tests: the labelled corpus (scripts/make-corpus.ts, seed 13) generated once
 * per mocha process into a temporary folder (removed when the process exits), its files as PCM; and
 * frame analysers fed audio as a call's media clock would (20 ms frames, `atMs` the frame's end).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANALYSIS_FRAME_MS, ANALYSIS_FRAME_SAMPLES, AnalysisEvent, FrameAnalyser } from '../../lib/analysis/analyser';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { parseWav } from '../../lib/media/wav-reader';
import { requireAudioTools } from '../../scripts/corpus/audio-tools';
import { Corpus, makeCorpus } from '../../scripts/make-corpus';

export interface CorpusFixture {
  dir: string;
  corpus: Corpus;
  /** A file's samples (8 kHz 16-bit mono). */
  audio(file: string): Int16Array;
}

let fixture: CorpusFixture | null = null;

/** For a mocha `before` hook (give it a long timeout: about a minute): skips without espeak-ng / sox. */
export function corpusFixture(ctx: Mocha.Context): CorpusFixture {
  requireAudioTools(ctx);
  if (fixture) return fixture;
  const dir = mkdtempSync(join(tmpdir(), 'corpus-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const corpus = makeCorpus({ out: dir, seed: 13 });
  const cache = new Map<string, Int16Array>();
  fixture = {
    dir,
    corpus,
    audio(file: string): Int16Array {
      let pcm = cache.get(file);
      if (!pcm) {
        const buf = readFileSync(join(dir, file));
        const info = parseWav(buf);
        pcm = pcm16leToInt16(buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes));
        cache.set(file, pcm);
      }
      return pcm;
    },
  };
  return fixture;
}

export interface HeardEvent {
  event: AnalysisEvent;
  /** The end of the frame whose `push` returned it, ms. */
  reportedAtMs: number;
}

/** Feeds `pcm` to the analysers in 20 ms frames (the last one padded with silence) until each is done. */
export function feedFrames(pcm: Int16Array, analysers: readonly FrameAnalyser[]): HeardEvent[] {
  const heard: HeardEvent[] = [];
  const frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
  for (let i = 0, atMs = ANALYSIS_FRAME_MS; i < pcm.length; i += ANALYSIS_FRAME_SAMPLES, atMs += ANALYSIS_FRAME_MS) {
    frame.fill(0);
    frame.set(pcm.subarray(i, i + ANALYSIS_FRAME_SAMPLES));
    for (const a of analysers) if (!a.done) for (const event of a.push(frame, atMs)) heard.push({ event, reportedAtMs: atMs });
  }
  return heard;
}
