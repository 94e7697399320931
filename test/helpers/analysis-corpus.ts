/**
 * For the call-analysis tests: the labelled corpus (scripts/make-corpus.ts, seed 13), its files as
 * PCM; and frame analysers fed audio as a call's media clock would (20 ms frames, `atMs` the
 * frame's end).
 *
 * The corpus takes a minute or two to generate (hundreds of espeak-ng and sox runs), so it is kept
 * in the system's temporary folder under a hash of what makes it: the generator's and the media
 * code's compiled files, the seed, and the espeak-ng and sox versions. A change to any of them
 * makes a new folder; the same code reuses the folder (written to a scratch folder first, then
 * renamed into place, so two processes never see half a corpus).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
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

const SEED = 13;

/** The compiled files whose output the corpus is (the generator and the media code it calls). */
const SOURCES = ['../../scripts/make-corpus', '../../scripts/corpus/audio-tools', '../../lib/media/tone-generator', '../../lib/media/g711', '../../lib/media/pcm-convert', '../../lib/media/wav-header', '../../lib/seeded-random'];

function corpusKey(): string {
  const hash = createHash('sha256').update(`seed ${SEED}\n`);
  for (const s of SOURCES) hash.update(readFileSync(require.resolve(s)));
  for (const program of ['espeak-ng', 'sox']) hash.update(spawnSync(program, ['--version']).stdout ?? '');
  return hash.digest('hex').slice(0, 16);
}

/** For a mocha `before` hook (give it a long timeout: a few minutes the first time): skips without espeak-ng / sox. */
export function corpusFixture(ctx: Mocha.Context): CorpusFixture {
  requireAudioTools(ctx);
  if (fixture) return fixture;
  const dir = join(tmpdir(), `node-red-voice-corpus-${corpusKey()}`);
  let corpus: Corpus;
  if (existsSync(join(dir, 'labels.json'))) corpus = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Corpus;
  else {
    const scratch = mkdtempSync(join(tmpdir(), 'corpus-'));
    try {
      corpus = makeCorpus({ out: scratch, seed: SEED });
      renameSync(scratch, dir);
    } catch (err) {
      // Another process put the same corpus there first: use it.
      if (!existsSync(join(dir, 'labels.json'))) throw err;
      corpus = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Corpus;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
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
