/**
 * The call-analysis corpus (scripts/make-corpus.ts, seed 13) for the tests that run detectors on
 * it: generated once per mocha process into a temporary folder (about a minute on one core),
 * removed at exit. Skips (fails on CI) without espeak-ng and sox, as test/unit/corpus.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { parseWav } from '../../lib/media/wav-reader';
import { requireAudioTools } from '../../scripts/corpus/audio-tools';
import { Corpus, makeCorpus } from '../../scripts/make-corpus';

export interface LoadedCorpus extends Corpus {
  dir: string;
  audio(file: string): Int16Array;
}

let loaded: LoadedCorpus | null = null;

/** For a mocha `before` hook (give it a timeout of a few minutes). */
export function analysisCorpus(ctx: Mocha.Context): LoadedCorpus {
  requireAudioTools(ctx);
  if (loaded) return loaded;
  const dir = mkdtempSync(join(tmpdir(), 'analysis-corpus-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const corpus = makeCorpus({ out: dir, seed: 13 });
  const cache = new Map<string, Int16Array>();
  loaded = {
    ...corpus,
    dir,
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
  return loaded;
}
