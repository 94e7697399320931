/**
 * Hosting a call's analysis (docs/call-analysis.md, "In a call"): a {@link CallAnalyser} built from a
 * flow's options (lib/capabilities/analysis.ts), fed one 20 ms frame of the call's received audio
 * per frame of time, so that every timing it reports is counted in frames, never read from a clock.
 *
 * Two ways to be clocked, one host:
 * - by the media clock ({@link analyseMediaEvents}: a SIP call's RtpSession, in the main thread or in
 *   a media worker): packets arrive as they come, into an {@link RxPlayout}; each tick takes one
 *   frame, silence when nothing arrived (loss, hold, silence suppression);
 * - by the audio itself ({@link AnalysisHost.pushStream}: an AT module's PCM port, which sends the
 *   downlink as a continuous 8 kHz stream): every 160 samples are one frame.
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
import type { MediaAudioEvents } from '../media/call-recorder';
import { RxPlayout } from '../media/rx-playout';

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
  private readonly playout = new RxPlayout({ frameSamples: ANALYSIS_FRAME_SAMPLES });
  private readonly frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
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

  /** Received samples as the network brings them (in order; copied): one frame leaves per {@link tick}. */
  pushRx(samples: Int16Array): void {
    if (this.stopped) return;
    this.started = true;
    this.playout.push(samples);
  }

  /** One media clock tick: one frame (the oldest received, or silence) once audio has come or the call was answered. */
  tick(): void {
    if (!this.started || this.stopped) return;
    this.analyse(this.playout.take(this.frame));
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
    this.atMs += ANALYSIS_FRAME_MS;
    for (const e of this.analyser.push(frame, this.atMs)) {
      if (this.stopped) return;
      this.sink.event(e);
    }
    if (this.analyser.done) this.stop();
  }
}

/**
 * Analyses a media's received audio (its `audio` events), one frame per media clock tick (its `tx`
 * event, which every tick emits while someone listens): what RtpSession.analyse does, in the main
 * thread and in a media worker alike. Listens until the analysis is done or stopped.
 */
export function analyseMediaEvents(media: MediaAudioEvents, options: AnalysisOptions, sink: AnalysisSink): AnalysisHandle {
  const onAudio = (samples: Int16Array): void => host.pushRx(samples);
  const onTick = (): void => host.tick();
  const host: AnalysisHost = new AnalysisHost(createCallAnalyser(options), sink, () => {
    media.off('audio', onAudio);
    media.off('tx', onTick);
  });
  media.on('audio', onAudio);
  media.on('tx', onTick);
  return host;
}
