/**
 * Who answered: a person or an answering machine, judged on the received audio after the answer
 * (issue 13). A `FrameAnalyser`: 20 ms frames in, one `far-end` event out (`human`, `machine` or
 * `unknown`, with the evidence and the time it took), then, for a machine, `greeting-end` when its
 * greeting is over (by silence, or by timeout). Fax is not judged here: the fax tone detectors
 * report it and the combiner (call-analyser.ts) lets that verdict win.
 *
 * Method: Asterisk app_amd's state machine (the public baseline), on a real voice-activity detector
 * instead of its fixed energy threshold. Frame by frame the VAD says voice or silence; a "word" is a
 * run of voice of at least `minWordMs` after a silence of at least `betweenWordsMs`. Then:
 * - a person says something and waits: once the greeting has started, a silence of
 *   `afterShortGreetingSilenceMs` after a short greeting (up to `shortGreetingMs` of voice: "Hello?",
 *   "Yes, speaking.") or of `afterGreetingSilenceMs` after a longer one → `human` (a machine's
 *   first sentence is longer, and its pauses between sentences come after more voice);
 * - a machine talks on: `greetingMs` of voice in all → `machine` (`long-greeting`); more than
 *   `maxWords` words → `machine` (`max-words`); one word of `maxWordMs` → `machine`
 *   (`max-word-length`);
 * - nothing said for `initialSilenceMs` → what `initialSilence` says (app_amd: `machine`);
 * - nothing decided after `timeoutMs`: a verdict on the voice heard by then (`timeoutVoiceMs`): a
 *   greeting fills the line, a person says a few words and waits, so at least `timeoutVoiceMs` of
 *   voice → `machine`, something said but less → `human`, nothing said → `unknown`; with
 *   `timeoutVoiceMs: 0`, `unknown` whatever was heard (app_amd's NOTSURE).
 * Every threshold is an option; the defaults and why are in docs/call-analysis.md, the figures
 * behind them from bench/far-end.ts over the labelled corpus.
 */
import { ANALYSIS_FRAME_MS, AnalysisEvent, FarEnd, FrameAnalyser } from './analyser';
import { VoiceActivityDetector, WebRtcVad } from './vad';
import { checkInt, checkOneOf, checkOptions } from '../media/check-option';

export interface FarEndOptions {
  /** The voice-activity detector (default: WebRTC's, `new WebRtcVad({ mode: 0 })`). Freed when the analyser is done. */
  vad?: VoiceActivityDetector;
  /** When the verdict is due, ms (default 5000): see `timeoutVoiceMs`. */
  timeoutMs?: number;
  /**
   * At the timeout, voice heard (in all) from which the far end is a machine; less (but some) is a
   * person, none `unknown`, ms (default 2800). 0: `unknown` at the timeout (app_amd).
   */
  timeoutVoiceMs?: number;
  /** Silence before anything is said that decides `initialSilence`'s verdict, ms (default 2500). */
  initialSilenceMs?: number;
  /** What a long initial silence means: `machine` (app_amd) or `wait` (go on listening; default). */
  initialSilence?: 'machine' | 'wait';
  /** Voice, in all, from which the answer is a machine's greeting, ms (default 3500; app_amd: 1500). */
  greetingMs?: number;
  /** Silence after a greeting longer than `shortGreetingMs` that says a person is waiting for an answer, ms (default 800 of VAD silence, as app_amd: longer than a greeting's pauses between sentences, 250–700 ms). */
  afterGreetingSilenceMs?: number;
  /**
   * A greeting of at most this much voice is short (a "Hello?", "Yes?"), ms (default 1000; 0: none
   * is): after it, `afterShortGreetingSilenceMs` of silence decides `human`.
   */
  shortGreetingMs?: number;
  /** Silence after a short greeting that says a person is waiting, ms (default 460 of VAD silence). */
  afterShortGreetingSilenceMs?: number;
  /** Shortest run of voice that is a word, ms (default 100). */
  minWordMs?: number;
  /** Shortest silence between two words, ms (default 50). */
  betweenWordsMs?: number;
  /** More words than this → machine; 0: no limit (default 6; app_amd: 2). */
  maxWords?: number;
  /** One word this long → machine, ms (default 5000). */
  maxWordMs?: number;
  /**
   * The VAD's first frames of sound are not believed, ms (default 160): libfvad calls the first
   * 100–140 ms of any audio voice until its noise model has settled. Counted from the first frame
   * that is not all zeros (a call's first frames may be nothing received yet).
   */
  warmUpMs?: number;
  /** After a machine verdict: silence that ends its greeting, ms (default 1200: longer than a greeting's pauses and than the usual gap before a beep). */
  greetingEndSilenceMs?: number;
  /** After a machine verdict: when `greeting-end` is sent `by: "timeout"` if no silence ended it, ms from the start (default 30000). */
  greetingTimeoutMs?: number;
}

export const FAR_END_DEFAULTS = {
  timeoutMs: 5000,
  timeoutVoiceMs: 2800,
  initialSilenceMs: 2500,
  initialSilence: 'wait' as 'machine' | 'wait',
  greetingMs: 3500,
  afterGreetingSilenceMs: 800,
  shortGreetingMs: 1400,
  afterShortGreetingSilenceMs: 460,
  minWordMs: 100,
  betweenWordsMs: 50,
  maxWords: 6,
  maxWordMs: 5000,
  warmUpMs: 160,
  greetingEndSilenceMs: 1200,
  greetingTimeoutMs: 30_000,
};

/** app_amd's defaults (Asterisk amd.conf), for the reference run of bench/far-end.ts. */
export const APP_AMD_SETTINGS: Omit<FarEndOptions, 'vad'> = {
  timeoutMs: 5000,
  timeoutVoiceMs: 0,
  initialSilenceMs: 2500,
  initialSilence: 'machine',
  greetingMs: 1500,
  afterGreetingSilenceMs: 800,
  shortGreetingMs: 0,
  minWordMs: 100,
  betweenWordsMs: 50,
  maxWords: 2,
  maxWordMs: 5000,
  warmUpMs: 0,
};

/** Why the verdict was reached (`evidence.cause`). */
export type FarEndCause = 'after-greeting-silence' | 'long-greeting' | 'max-words' | 'max-word-length' | 'initial-silence' | 'timeout';

/** `evidence` of the `far-end` event. */
export interface FarEndEvidence {
  cause: FarEndCause;
  /** Silence before the first word, ms (up to the decision if nothing was said). */
  initialSilenceMs: number;
  /** Voice heard, in all, ms. */
  greetingMs: number;
  words: number;
  /** The silence going on when it decided, ms. */
  silenceMs: number;
  vad: string;
}

type Phase = 'initial' | 'greeting' | 'machine' | 'done';

export class FarEndAnalyser implements FrameAnalyser {
  private readonly o: typeof FAR_END_DEFAULTS;
  private readonly vad: VoiceActivityDetector;
  private readonly vadName: string;
  private phase: Phase = 'initial';
  private frames = 0;
  /** Frames since the first one that was not digital silence (all zeros). */
  private soundFrames = 0;
  private silenceRun = 0;
  private voiceRun = 0;
  private voiced = 0;
  private words = 0;
  private inWord = false;
  private initialSilenceMs = -1;
  /** After a machine verdict: voice was heard since (a greeting ends by silence only once it has started). */
  private greetingHeard = false;

  constructor(options?: FarEndOptions) {
    const o = checkOptions('FarEndAnalyser', options);
    const ms = (name: keyof typeof FAR_END_DEFAULTS, min: number, max: number): number =>
      checkInt(name, (o as Record<string, unknown>)[name] ?? FAR_END_DEFAULTS[name], min, max);
    this.o = {
      timeoutMs: ms('timeoutMs', 500, 60_000),
      timeoutVoiceMs: ms('timeoutVoiceMs', 0, 60_000),
      initialSilenceMs: ms('initialSilenceMs', 100, 60_000),
      initialSilence: checkOneOf('initialSilence', o.initialSilence ?? FAR_END_DEFAULTS.initialSilence, ['machine', 'wait'] as const),
      greetingMs: ms('greetingMs', 100, 60_000),
      afterGreetingSilenceMs: ms('afterGreetingSilenceMs', 100, 60_000),
      shortGreetingMs: ms('shortGreetingMs', 0, 60_000),
      afterShortGreetingSilenceMs: ms('afterShortGreetingSilenceMs', 100, 60_000),
      minWordMs: ms('minWordMs', 20, 5000),
      betweenWordsMs: ms('betweenWordsMs', 20, 5000),
      maxWords: ms('maxWords', 0, 1000),
      warmUpMs: ms('warmUpMs', 0, 1000),
      maxWordMs: ms('maxWordMs', 100, 60_000),
      greetingEndSilenceMs: ms('greetingEndSilenceMs', 100, 60_000),
      greetingTimeoutMs: ms('greetingTimeoutMs', 1000, 600_000),
    };
    this.vad = o.vad ?? new WebRtcVad({ mode: 0 });
    this.vadName = o.vad ? o.vad.constructor.name : 'WebRtcVad';
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  /** How long a machine's greeting is waited for, ms from the classifier's first frame (option `greetingTimeoutMs`). */
  get greetingTimeoutMs(): number {
    return this.o.greetingTimeoutMs;
  }

  /** How much audio it has heard, ms (20 per frame pushed). */
  get elapsedMs(): number {
    return this.frames * ANALYSIS_FRAME_MS;
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    if (this.phase === 'done') return [];
    this.frames++;
    const heard = this.vad.isVoice(frame);
    // The VAD settles on the first frames of sound, not on the digital silence a call may start
    // with (nothing received yet after the answer): the warm-up counts from the first sound.
    if (this.soundFrames > 0 || frame.some((x) => x !== 0)) this.soundFrames++;
    const voice = heard && this.soundFrames * ANALYSIS_FRAME_MS > this.o.warmUpMs;
    if (voice) {
      this.silenceRun = 0;
      this.voiceRun += ANALYSIS_FRAME_MS;
      this.voiced += ANALYSIS_FRAME_MS;
      if (this.voiceRun >= this.o.minWordMs && !this.inWord) {
        this.inWord = true;
        this.words++;
        if (this.initialSilenceMs < 0) this.initialSilenceMs = this.frames * ANALYSIS_FRAME_MS - this.voiceRun;
      }
    } else {
      this.silenceRun += ANALYSIS_FRAME_MS;
      if (this.silenceRun >= this.o.betweenWordsMs) {
        this.inWord = false;
        this.voiceRun = 0;
      }
    }
    if (this.phase === 'machine') return this.greetingEnd(voice, atMs);
    if (this.phase === 'initial' && this.words > 0) this.phase = 'greeting';
    const o = this.o;
    if (this.phase === 'initial') {
      if (this.silenceRun >= o.initialSilenceMs && o.initialSilence === 'machine') return this.decide('machine', 'initial-silence', atMs);
    } else {
      const waited = this.voiced <= o.shortGreetingMs ? Math.min(o.afterShortGreetingSilenceMs, o.afterGreetingSilenceMs) : o.afterGreetingSilenceMs;
      if (!voice && this.silenceRun >= waited) return this.decide('human', 'after-greeting-silence', atMs);
      if (voice && this.voiceRun >= o.maxWordMs) return this.decide('machine', 'max-word-length', atMs);
      if (voice && o.maxWords > 0 && this.words > o.maxWords) return this.decide('machine', 'max-words', atMs);
      if (voice && this.voiced >= o.greetingMs) return this.decide('machine', 'long-greeting', atMs);
    }
    if (this.frames * ANALYSIS_FRAME_MS >= o.timeoutMs) return this.decide(this.atTimeout(), 'timeout', atMs);
    return [];
  }

  /** The verdict at the timeout, on the voice heard (see `timeoutVoiceMs`). */
  private atTimeout(): FarEnd {
    if (this.o.timeoutVoiceMs === 0 || this.words === 0) return 'unknown';
    return this.voiced >= this.o.timeoutVoiceMs ? 'machine' : 'human';
  }

  private decide(farEnd: FarEnd, cause: FarEndCause, atMs: number): AnalysisEvent[] {
    const elapsed = this.frames * ANALYSIS_FRAME_MS;
    const evidence: FarEndEvidence = {
      cause,
      initialSilenceMs: this.initialSilenceMs >= 0 ? this.initialSilenceMs : elapsed,
      greetingMs: this.voiced,
      words: this.words,
      silenceMs: this.silenceRun,
      vad: this.vadName,
    };
    if (farEnd === 'machine') {
      this.phase = 'machine';
      this.greetingHeard = this.silenceRun === 0;
    } else this.finish();
    return [{ topic: 'far-end', farEnd, evidence: { ...evidence }, decisionMs: elapsed, atMs }];
  }

  private greetingEnd(voice: boolean, atMs: number): AnalysisEvent[] {
    if (voice) this.greetingHeard = true;
    if (this.greetingHeard && this.silenceRun >= this.o.greetingEndSilenceMs) {
      this.finish();
      return [{ topic: 'greeting-end', by: 'silence', atMs }];
    }
    if (this.frames * ANALYSIS_FRAME_MS >= this.o.greetingTimeoutMs) {
      this.finish();
      return [{ topic: 'greeting-end', by: 'timeout', atMs }];
    }
    return [];
  }

  /** Stops analysing (the host has no more use for it, e.g. the combiner heard a fax or a beep): frees the VAD. */
  stop(): void {
    this.finish();
  }

  private finish(): void {
    this.phase = 'done';
    this.vad.free();
  }
}
