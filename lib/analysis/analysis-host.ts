/**
 * Hosting a call's analysis (docs/call-analysis.md, "In a call"): a {@link CallAnalyser} built from a
 * flow's options (lib/capabilities/analysis.ts), fed one 20 ms frame of the call's received audio
 * per frame of time, so that every timing it reports is counted in frames, never read from a clock.
 *
 * Time is the received audio's own timeline, so that a busy thread (its media clock ticks late, in
 * bursts) neither cuts a tone nor shifts a timing:
 * - RTP ({@link analyseMediaEvents}: a SIP call's RtpSession, in the main thread or in a media worker):
 *   every received sample is analysed, however late it comes, in order; a gap in the RTP timestamps
 *   (lost packets, silence suppression) is analysed as that much silence. The media clock's ticks
 *   only make time pass when nothing arrives at all (hold, a far end that sends nothing): once the
 *   ticks are more than {@link IDLE_LAG_FRAMES} frames ahead of the audio, silence fills the
 *   difference (a later packet's timestamp fills the rest of its gap);
 * - a stream that clocks itself ({@link AnalysisHost.pushStream}: an AT module's PCM port, which sends
 *   the downlink as a continuous 8 kHz stream): every 160 samples are one frame.
 *
 * Frames are counted from the first audio received (or the answer, whichever comes first): with
 * `start: "connect"` the classifier starts with the first audio, not with the INVITE.
 */
import { ANALYSIS_FRAME_MS, ANALYSIS_FRAME_SAMPLES, AnalysisEvent } from './analyser';
import { BeepAnalyser } from './beep';
import { CallAnalyser } from './call-analyser';
import { FaxAnalyser } from './fax';
import { NetworkToneAnalyser } from './network-tones';
import { ToneDetector } from './tone-detector';
import type { AnalysisOptions } from '../capabilities/analysis';

/**
 * How far (in 20 ms frames) the media clock's ticks may run ahead of the received audio before
 * silence is analysed for the difference: 1 s. Packets that wait behind a blocked event loop for less
 * than this are analysed as they were sent; a far end that sends nothing is silence, a second late.
 */
export const IDLE_LAG_FRAMES = 50;
/** A gap in the RTP timestamps longer than this (10 s) is a new timeline (another stream), not silence. */
const MAX_GAP_SAMPLES = 80_000;

/** Where a hosted analysis reports. */
export interface AnalysisSink {
  /** One result (plain data: it may cross from a media worker). Called within the frame that decided it. */
  event(e: AnalysisEvent): void;
}

/** A running analysis, as its host's owner drives it. */
export interface AnalysisHandle {
  /** The call was answered: with `start: "answer"`, far-end detection starts with the next frame. */
  answered(): void;
  /** Stops it: nothing more is reported, the VAD is freed. Idempotent. */
  stop(): void;
}

/**
 * The analysers of one call, as the options ask: the far-end classifier (`detect: "machine"`) with
 * the beep and fax detectors, the network tone detector (`tones`: until the answer), all tone detectors over one
 * shared ToneDetector (each frame is analysed once).
 */
export function createCallAnalyser(options: AnalysisOptions): CallAnalyser {
  const tones = new ToneDetector();
  const machine = options.detect === 'machine';
  return new CallAnalyser({
    detect: options.detect,
    start: options.start,
    ...(machine ? { timeoutMs: options.timeoutMs, detectors: [new BeepAnalyser({ tones }), new FaxAnalyser({ tones })] } : {}),
    // `tones`: the network's tones before the answer (after it, a tone is the far end's).
    networkTones: options.tones ? [new NetworkToneAnalyser({ tones })] : [],
    networkTonesUntil: 'answer',
  });
}

/** Feeds one CallAnalyser and hands its events to a sink (see the file's comment). */
export class AnalysisHost implements AnalysisHandle {
  private readonly frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
  /** The RTP timestamp the next received sample should have (null: none received yet). */
  private nextTs: number | null = null;
  /** Media clock ticks since it started, and frames analysed. */
  private ticks = 0;
  private frames = 0;
  /** Samples of a stream not yet a whole frame ({@link pushStream}). */
  private streamed = 0;
  private atMs = 0;
  private started = false;
  private stopped = false;

  constructor(
    private readonly analyser: CallAnalyser,
    private readonly sink: AnalysisSink,
    /** Called once when it stops (done, or {@link stop}): the owner stops feeding it. */
    private readonly onStop: () => void = () => undefined,
  ) {}

  get done(): boolean {
    return this.stopped;
  }

  /** Frames analysed so far, in ms (the `atMs` of the last one). */
  get elapsedMs(): number {
    return this.atMs;
  }

  /**
   * Received samples, in order, as the network brings them (copied), with the RTP timestamp of the
   * first (8 kHz): a gap since the previous packet is analysed as silence first.
   */
  pushRx(samples: Int16Array, timestamp?: number): void {
    if (this.stopped) return;
    this.started = true;
    if (timestamp !== undefined) {
      if (this.nextTs !== null) {
        const gap = (timestamp - this.nextTs) | 0; // signed: the timestamps wrap at 2^32
        if (gap > 0 && gap <= MAX_GAP_SAMPLES) this.pushSilence(gap);
      }
      this.nextTs = (timestamp + samples.length) >>> 0;
    }
    this.pushStream(samples);
  }

  /** One media clock tick: time passes without audio only when the ticks run {@link IDLE_LAG_FRAMES} ahead of it. */
  tick(): void {
    if (!this.started || this.stopped) return;
    const behind = ++this.ticks - this.frames - IDLE_LAG_FRAMES;
    if (behind <= 0) return;
    this.pushSilence(behind * ANALYSIS_FRAME_SAMPLES);
    if (this.nextTs !== null) this.nextTs = (this.nextTs + behind * ANALYSIS_FRAME_SAMPLES) >>> 0;
  }

  /** Received samples of a stream that clocks itself (a PCM port): each 160 of them are one frame. */
  pushStream(samples: Int16Array): void {
    let at = 0;
    while (at < samples.length && !this.stopped) {
      const n = Math.min(samples.length - at, ANALYSIS_FRAME_SAMPLES - this.streamed);
      this.frame.set(samples.subarray(at, at + n), this.streamed);
      this.streamed += n;
      at += n;
      if (this.streamed === ANALYSIS_FRAME_SAMPLES) {
        this.streamed = 0;
        this.started = true;
        this.analyse(this.frame);
      }
    }
  }

  private pushSilence(samples: number): void {
    const zeros = new Int16Array(Math.min(samples, ANALYSIS_FRAME_SAMPLES));
    for (let left = samples; left > 0 && !this.stopped; left -= zeros.length) this.pushStream(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }

  answered(): void {
    if (this.stopped) return;
    this.started = true;
    this.analyser.answered();
    if (this.analyser.done) this.stop(); // only network tones, and they end at the answer
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.analyser.stop();
    this.onStop();
  }

  private analyse(frame: Int16Array): void {
    this.frames++;
    this.atMs += ANALYSIS_FRAME_MS;
    for (const e of this.analyser.push(frame, this.atMs)) {
      if (this.stopped) return;
      this.sink.event(e);
    }
    if (this.analyser.done) this.stop();
  }
}

/** The events of a call's media the analysis listens to (RtpSession's). */
export interface AnalysedMedia {
  on(event: 'audio', listener: (samples: Int16Array, info?: { timestamp: number }) => void): unknown;
  on(event: 'tx', listener: () => void): unknown;
  off(event: 'audio', listener: (samples: Int16Array, info?: { timestamp: number }) => void): unknown;
  off(event: 'tx', listener: () => void): unknown;
}

/**
 * Analyses a media's received audio (its `audio` events, with their RTP timestamps), its media
 * clock's ticks (its `tx` event, which every tick emits while someone listens) making time pass only
 * when nothing arrives: what RtpSession.analyse does, in the main thread and in a media worker
 * alike. Listens until the analysis is done or stopped.
 */
export function analyseMediaEvents(media: AnalysedMedia, options: AnalysisOptions, sink: AnalysisSink): AnalysisHandle {
  const onAudio = (samples: Int16Array, info?: { timestamp: number }): void => host.pushRx(samples, info?.timestamp);
  const onTick = (): void => host.tick();
  const host: AnalysisHost = new AnalysisHost(createCallAnalyser(options), sink, () => {
    media.off('audio', onAudio);
    media.off('tx', onTick);
  });
  media.on('audio', onAudio);
  media.on('tx', onTick);
  return host;
}
