import { EventEmitter } from 'node:events';
import type { TransferListItem } from 'node:worker_threads';
import type { MixCommand } from '../conference/worker-mixing';
import type { Logger } from '../backend';
import type { PlaybackResult } from '../capabilities/audio';
import { CallStateError, CommandFailedError, InvalidInputError, NotSupportedError, VoiceError } from '../errors';
import { statSync } from 'node:fs';
import { checkRecorderSpec, recordMediaEvents, RecorderHandle, RecorderResult, RecorderSink, RecorderSpec } from '../media/call-recorder';
import { DEFAULT_DTMF_DURATION_MS } from '../media/dtmf-sender';
import { isPcmSource, PcmSource, toPcmSource } from '../media/pcm-source';
import type { MediaDirection, RtpEndpoint, RtpMediaParams } from '../sip/media-params';
import { checkDtmfRequest, checkMediaParams, DtmfSendMode, nextMediaParams, QueuedAudio, RtpSessionEvents, RtpSessionStats } from '../sip/rtp-session';
import type { SrtpKeys } from '../sip/sdes';
import type { AudioChunkInfo } from '../media/audio-chunker';
import { Command, LegId, MediaEvent, readStats, WireError } from './protocol';
import type { RtpMedia } from './rtp-media';
import type { AnalysisHandle, AnalysisSink } from '../analysis/analysis-host';
import type { AnalysisOptions } from '../capabilities/analysis';

/** Samples of a playback kept queued in the worker ahead of what was sent: 2 s (it asks for more below 1 s). */
export const PLAY_AHEAD = 16000;

/** How a {@link RemoteRtpSession} talks to its worker (lib/media-engine/media-engine.ts). */
export interface LegLink {
  /** The worker thread's id. */
  readonly threadId: number;
  post(command: Command, transfer?: TransferListItem[]): void;
  /** The leg is closed (its `closed` event came, or the worker died): forget it. */
  forget(id: LegId): void;
}

interface PlayEntry {
  source: PcmSource;
  /** Samples sent to the worker so far. */
  fed: number;
  /** Samples sent to the network, as of the worker's last report. */
  position: number;
  resolve: (result: PlaybackResult) => void;
  finished: boolean;
}

/**
 * A call leg's media in a media worker, driven from the main thread: the {@link RtpMedia} surface
 * of {@link RtpSession}, whose instance runs in the worker (docs/media-engine.md). Commands go as
 * they come; what the worker reports arrives in its per-tick batch. Its state (parameters, mute,
 * latched source, SRTP suite) is kept here too, so that the getters answer at once; the counters
 * are read from the buffer the worker writes every tick (`stats()` is at most a tick old).
 *
 * Playback: whatever the source (an array, a WAV file read as it plays), its samples are pumped
 * into the worker {@link PLAY_AHEAD} ahead of the sending, so a main thread that stalls does not
 * starve the audio. When the worker dies the leg fails: queued audio ends stopped, DTMF being sent
 * rejects, `failure` resolves (the SIP layer ends the call `media-failed`).
 */
export class RemoteRtpSession extends EventEmitter<RtpSessionEvents> implements RtpMedia {
  /** Resolves when the worker running this leg died (never otherwise). */
  readonly failure: Promise<Error>;
  private failed: (err: Error) => void = () => undefined;
  private params: RtpMediaParams;
  private isMuted = false;
  private isClosed = false;
  private suite: SrtpKeys['suite'] | null = null;
  private latched: RtpEndpoint | null = null;
  private readonly statsView: Float64Array;
  private finalStats: RtpSessionStats | null = null;
  private readonly plays = new Map<number, PlayEntry>();
  private playSeq = 0;
  private readonly dtmfRequests = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private dtmfSeq = 0;
  private listening = { audio: false, tx: false };
  private readonly recordings = new Map<number, RemoteRecording>();
  private recSeq = 0;
  /** Call analyses run in the worker, by number: where their results go. */
  private readonly analyses = new Map<number, AnalysisSink>();
  private analysisSeq = 0;
  private closing: Promise<void> | null = null;
  private closedNow: () => void = () => undefined;

  constructor(
    private readonly link: LegLink,
    readonly id: LegId,
    readonly localAddress: string,
    readonly localPort: number,
    params: RtpMediaParams,
    stats: SharedArrayBuffer,
    private readonly log: Logger,
    private readonly releasePorts: () => void,
  ) {
    super();
    this.params = checkMediaParams(params);
    this.statsView = new Float64Array(stats);
    this.failure = new Promise((resolve) => (this.failed = resolve));
    // `audio` and `tx` cross only while someone listens here (a recording, a test).
    const plain = this as EventEmitter;
    const onChange = (event: string | symbol): void => {
      if (event === 'audio' || event === 'tx') queueMicrotask(() => this.syncListening());
    };
    plain.on('newListener', onChange);
    plain.on('removeListener', onChange);
  }

  /** A conference party's talk changes, detected in the worker (lib/conference/worker-mixing.ts). */
  onTalk: ((talking: boolean, levelDbfs: number) => void) | null = null;

  /** Sends a conference command to this leg's worker (even once the leg closed: a room it hosts lives on). */
  sendMix(command: MixCommand, transfer?: TransferListItem[]): void {
    this.link.post(command, transfer);
  }

  /** The id of the worker thread running this leg. */
  get threadId(): number {
    return this.link.threadId;
  }

  get ssrc(): number {
    return this.statsView[0];
  }

  get media(): Readonly<RtpMediaParams> {
    return this.params;
  }

  get target(): RtpEndpoint | null {
    return this.latched ?? this.params.remote;
  }

  get muted(): boolean {
    return this.isMuted;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get srtpSuite(): SrtpKeys['suite'] | null {
    return this.suite;
  }

  get queuedMs(): number {
    let samples = 0;
    for (const p of this.plays.values()) if (!p.finished) samples += p.source.length - p.position;
    return samples / 8;
  }

  configure(update: Partial<RtpMediaParams>): void {
    const next = nextMediaParams(this.params, update);
    const before = this.params;
    this.params = next;
    if (before.remote?.address !== next.remote?.address || before.remote?.port !== next.remote?.port) this.latched = null;
    this.send({ t: 'configure', id: this.id, update: next });
  }

  // setSrtp, mute and unmute are called each time a description is applied (every call, most with no
  // SRTP and not muted): a state the worker's session has already is not sent again.
  setSrtp(keys: SrtpKeys | null): void {
    if (!keys && this.suite === null) return;
    this.suite = keys?.suite ?? null;
    this.send({ t: 'srtp', id: this.id, keys: keys && { suite: keys.suite, tag: keys.tag, local: new Uint8Array(keys.local), remote: new Uint8Array(keys.remote) } });
  }

  setDirection(direction: MediaDirection): void {
    this.configure({ direction });
  }

  mute(): void {
    if (this.isMuted) return;
    this.isMuted = true;
    this.send({ t: 'mute', id: this.id, on: true });
  }

  unmute(): void {
    if (!this.isMuted) return;
    this.isMuted = false;
    this.send({ t: 'mute', id: this.id, on: false });
  }

  setInbandDtmf(enabled: boolean): void {
    if (typeof enabled !== 'boolean') throw new TypeError('"inbandDtmf" must be true or false');
    this.send({ t: 'inband', id: this.id, on: enabled });
  }

  play(audio: Int16Array | PcmSource): QueuedAudio {
    if (!(audio instanceof Int16Array) && !isPcmSource(audio)) throw new TypeError('"pcm" must be an Int16Array of 8 kHz samples or a PcmSource');
    const source = toPcmSource(audio);
    let resolve!: (result: PlaybackResult) => void;
    const done = new Promise<PlaybackResult>((r) => (resolve = r));
    const play = ++this.playSeq;
    const entry: PlayEntry = { source, fed: 0, position: 0, resolve, finished: false };
    if (source.length === 0 || this.isClosed) {
      finish(entry, source.position / 8, source.length > 0);
    } else {
      this.plays.set(play, entry);
      const samples = this.take(entry, PLAY_AHEAD);
      this.send({ t: 'play', id: this.id, play, length: source.length, samples }, [samples.buffer as ArrayBuffer]);
    }
    return {
      done,
      stop: () => {
        if (entry.finished) return;
        // Closing: the worker's close stops it and reports what was played; closed already: it was reported.
        if (!this.isClosed) this.send({ t: 'stop-play', id: this.id, play });
      },
    };
  }

  clearQueue(): void {
    this.send({ t: 'clear', id: this.id });
  }

  /**
   * Records this leg in its worker (lib/media/call-recorder.ts run by the worker's RtpSession: the
   * WAV file is written there); stream chunks come back in the worker's batches. The same contract
   * as RtpSession.record. Throws TypeError for a bad spec.
   */
  record(spec: RecorderSpec, sink: RecorderSink): RecorderHandle {
    const clean = checkRecorderSpec(spec);
    if (this.isClosed) {
      // As RtpSession does on closed media: it ends at once (media-closed), in this thread.
      const handle = recordMediaEvents(this, clean, sink);
      handle.mediaClosed();
      return handle;
    }
    const rec = ++this.recSeq;
    const r = new RemoteRecording(clean, sink, this.log);
    this.recordings.set(rec, r);
    this.send({ t: 'record', id: this.id, rec, spec: clean });
    return {
      started: r.started,
      stop: () => {
        if (!r.over) this.send({ t: 'stop-record', id: this.id, rec });
        return r.ended;
      },
    };
  }

  sendDtmf(digits: string, durationMs: number = DEFAULT_DTMF_DURATION_MS, mode: DtmfSendMode = 'rfc4733'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      checkDtmfRequest(this, digits, durationMs, mode);
      const req = ++this.dtmfSeq;
      this.dtmfRequests.set(req, { resolve, reject });
      this.send({ t: 'dtmf', id: this.id, req, digits: digits.toUpperCase(), durationMs, mode });
    });
  }

  /**
   * Call analysis run in the worker (it builds the analysers from the options: plain data); results
   * come back in its tick batches. The same contract as RtpSession.analyse.
   */
  analyse(options: AnalysisOptions, sink: AnalysisSink): AnalysisHandle {
    const an = ++this.analysisSeq;
    if (!this.isClosed) this.analyses.set(an, sink);
    this.send({ t: 'analyse', id: this.id, an, options: { ...options } });
    return {
      answered: () => {
        if (this.analyses.has(an)) this.send({ t: 'analysis-answered', id: this.id, an });
      },
      stop: () => {
        if (this.analyses.delete(an)) this.send({ t: 'stop-analysis', id: this.id, an });
      },
    };
  }

  stats(): RtpSessionStats {
    return this.finalStats ?? readStats(this.statsView);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.closing = new Promise<void>((resolve) => (this.closedNow = resolve));
    this.link.post({ t: 'close', id: this.id });
    return this.closing;
  }

  /** One event of the worker's batch for this leg (`pcm`: the batch's audio). */
  onEvent(ev: MediaEvent, pcm: Int16Array | null): void {
    switch (ev.e) {
      case 'audio':
        if (!this.isClosed && pcm) this.emit('audio', pcm.subarray(ev.off, ev.off + ev.len), { timestamp: ev.timestamp, sequenceNumber: ev.sequenceNumber });
        break;
      case 'tx':
        if (!this.isClosed && pcm) this.emit('tx', pcm.subarray(ev.off, ev.off + ev.len));
        break;
      case 'dtmf':
        if (!this.isClosed) this.emit('dtmf', { digit: ev.digit, source: ev.source, ...(ev.durationMs !== undefined ? { durationMs: ev.durationMs } : {}) });
        break;
      case 'latched':
        if (this.isClosed) break;
        this.latched = { address: ev.address, port: ev.port };
        this.emit('latched', { ...this.latched });
        break;
      case 'want':
        this.feed(ev.play, ev.position);
        break;
      case 'played': {
        const entry = this.plays.get(ev.play);
        this.plays.delete(ev.play);
        if (entry) finish(entry, ev.playedMs, ev.stopped);
        break;
      }
      case 'dtmf-done': {
        const r = this.dtmfRequests.get(ev.req);
        this.dtmfRequests.delete(ev.req);
        if (r && ev.error) r.reject(fromWireError(ev.error));
        else r?.resolve();
        break;
      }
      case 'rec-started':
        this.recordings.get(ev.rec)?.onStarted(ev.early);
        break;
      case 'rec-chunk':
        this.recordings.get(ev.rec)?.onChunk(ev.payload, ev.audio);
        break;
      case 'rec-end':
        this.recordings.get(ev.rec)?.onEnd(ev.result);
        this.recordings.delete(ev.rec);
        break;
      case 'analysis':
        if (!this.isClosed) this.analyses.get(ev.an)?.event(ev.event);
        break;
      case 'log':
        this.log[ev.level](ev.line);
        break;
      case 'talk':
        if (!this.isClosed) this.onTalk?.(ev.talking, ev.levelDbfs);
        break;
      case 'closed':
        this.finalStats = readStats(this.statsView);
        this.settle();
        break;
      default:
        break;
    }
  }

  /**
   * The worker running this leg died: the leg is over (its sockets went with the thread). Queued
   * audio ends stopped with what was sent as last reported, DTMF being sent rejects.
   */
  fail(err: Error): void {
    if (this.finalStats) return;
    this.isClosed = true;
    this.finalStats = readStats(this.statsView);
    for (const entry of this.plays.values()) finish(entry, entry.position / 8, true);
    this.plays.clear();
    for (const r of this.dtmfRequests.values()) r.reject(new CallStateError(`DTMF was not sent: the call's media failed (${err.message})`));
    this.dtmfRequests.clear();
    for (const r of this.recordings.values()) r.onMediaFailed();
    this.recordings.clear();
    this.settle();
    this.failed(err);
  }

  private settle(): void {
    this.isClosed = true;
    this.analyses.clear();
    this.closing ??= Promise.resolve();
    this.link.forget(this.id);
    this.releasePorts();
    this.closedNow();
  }

  private send(command: Command, transfer?: ArrayBuffer[]): void {
    if (this.isClosed) return;
    this.link.post(command, transfer);
  }

  /** The worker holds less than a second of playback `play`: up to {@link PLAY_AHEAD} ahead again. */
  private feed(play: number, position: number): void {
    const entry = this.plays.get(play);
    if (!entry || entry.finished) return;
    entry.position = position;
    const samples = this.take(entry, PLAY_AHEAD - (entry.fed - position));
    // Sent also when empty (a file's reader is behind): the worker asks again at its next tick.
    this.send({ t: 'feed', id: this.id, play, length: entry.source.length, samples }, [samples.buffer as ArrayBuffer]);
  }

  /** Up to `max` next samples of the source, copied into a buffer of their own (it is transferred). */
  private take(entry: PlayEntry, max: number): Int16Array {
    const got = max > 0 ? entry.source.take(max) : new Int16Array(0);
    const copy = new Int16Array(got.length);
    copy.set(got);
    entry.fed += copy.length;
    return copy;
  }

  private syncListening(): void {
    const want = { audio: this.listenerCount('audio') > 0, tx: this.listenerCount('tx') > 0 };
    if (want.audio === this.listening.audio && want.tx === this.listening.tx) return;
    this.listening = want;
    this.send({ t: 'listen', id: this.id, ...want });
  }
}

/** The main thread's side of a recording run in the worker: the sink, and the handle's promises. */
class RemoteRecording {
  readonly started: Promise<RecorderResult | null>;
  readonly ended: Promise<RecorderResult>;
  over = false;
  private chunks = 0;
  private resolveStarted!: (early: RecorderResult | null) => void;
  private resolveEnded!: (result: RecorderResult) => void;

  constructor(
    private readonly spec: RecorderSpec,
    private readonly sink: RecorderSink,
    private readonly log: Logger,
  ) {
    this.started = new Promise((r) => (this.resolveStarted = r));
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  onStarted(early: RecorderResult | null): void {
    this.resolveStarted(early);
  }

  onChunk(payload: Uint8Array, audio: AudioChunkInfo): void {
    if (this.over) return;
    this.chunks++;
    try {
      this.sink.chunk({ payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), audio });
    } catch (err) {
      this.log.warn(`sip media: a recording's chunk could not be handed on: ${(err as Error).message}`);
    }
  }

  onEnd(result: RecorderResult): void {
    if (this.over) return;
    this.over = true;
    this.resolveStarted(result);
    try {
      this.sink.end(result);
    } catch (err) {
      this.log.warn(`sip media: a recording's end could not be handed on: ${(err as Error).message}`);
    }
    this.resolveEnded(result);
  }

  /**
   * The worker died: the recording ended with the media (`media-closed`, the call ends too). Its
   * file is what the worker wrote (a WAV whose header is kept valid as it grows): measured here.
   */
  onMediaFailed(): void {
    const result: RecorderResult = { direction: this.spec.direction, channels: this.spec.channels, bytes: 0, durationMs: 0, frames: 0, chunks: this.chunks, endedBy: 'media-closed' };
    if (this.spec.file !== undefined) {
      try {
        result.bytes = statSync(this.spec.file).size;
        result.path = this.spec.file;
        result.durationMs = Math.round(Math.max(0, result.bytes - 44) / (2 * this.spec.channels) / 8);
        result.frames = Math.floor(result.durationMs / 20);
      } catch {
        // not created: no file
      }
    }
    this.onEnd(result);
  }
}

function finish(entry: PlayEntry, playedMs: number, stopped: boolean): void {
  if (entry.finished) return;
  entry.finished = true;
  entry.resolve({ playedMs, stopped });
}

const ERRORS: Record<string, new (message: string) => Error> = {
  CallStateError,
  NotSupportedError,
  InvalidInputError,
  TypeError,
  RangeError,
};

/** The error the worker reported, as the class it was (so a caller tells a CallStateError from a NotSupportedError). */
export function fromWireError(w: WireError): Error {
  const Known = ERRORS[w.name];
  if (Known) return new Known(w.message);
  if (w.name === 'CommandFailedError') return new CommandFailedError(w.message);
  if (w.code) return new VoiceError(w.message, w.code); // EADDRINUSE, EACCES... as the allocator reads them
  return new Error(w.message);
}
