import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import type { PlaybackResult } from '../capabilities/audio';
import type { Logger } from '../backend';
import { CallStateError, NotSupportedError } from '../errors';
import { LogRateLimiter } from '../log-rate-limit';
import { AttachedRecorder, recordMediaEvents, RecorderHandle, RecorderSink, RecorderSpec } from '../media/call-recorder';
import { checkInt, checkOneOf, checkOptions } from '../media/check-option';
import { DtmfReceiver } from '../media/dtmf-receiver';
import { DEFAULT_DTMF_DURATION_MS, DtmfSender } from '../media/dtmf-sender';
import { decodeG711, encodeG711 } from '../media/g711';
import { GoertzelDtmfDetector } from '../media/goertzel-dtmf';
import { allocInt16 } from '../media/int16-pool';
import { InterarrivalJitter } from '../media/interarrival-jitter';
import { isPcmSource, PcmSource, toPcmSource } from '../media/pcm-source';
import { JitterBuffer } from '../media/jitter-buffer';
import { MediaClock, sharedMediaClock } from '../media/media-clock';
import { looksLikeRtcp, parseRtp, RTP_HEADER_SIZE, RtpPacket, writePlainRtp } from '../media/rtp-packet';
import { dtmfKeyToEvent } from '../media/telephone-event';
import { dtmfTone } from '../media/tone-generator';
import {
  checkIpv4,
  G711_CODECS,
  G711Codec,
  MEDIA_DIRECTIONS,
  MediaDirection,
  receives,
  RtpEndpoint,
  RtpMediaParams,
  sends,
  STATIC_PAYLOAD_TYPES,
} from './media-params';
import type { RtpMedia } from '../media-engine/rtp-media';
import type { AttachedRtpSocket, RtpSocketIo } from '../media-engine/native-rtp-io';
import { writeCounters } from '../media-engine/protocol';
import { analyseMediaEvents, AnalysisHandle, AnalysisSink } from '../analysis/analysis-host';
import type { AnalysisOptions } from '../capabilities/analysis';
import type { RtpPortPair } from './rtp-port-allocator';
import type { SrtpKeys } from './sdes';
import { SrtpContext } from './srtp';

/** 20 ms of 8 kHz audio: one packet, one media clock tick. */
export const SAMPLES_PER_PACKET = 160;
/**
 * A frame of silence, never handed out: encoded into a codec's silent packet, and copied over a
 * session's own silent frame each tick (a copy is a memmove; `fill` is a call into V8's runtime).
 */
const ZERO_FRAME = new Int16Array(SAMPLES_PER_PACKET);
const PACKET_MS = 20;
/** The silence after each DTMF key before the next one (or the audio) goes on (ITU-T Q.24 asks ≥ 40 ms). */
export const DTMF_GAP_MS = 60;

/** What drives the session: the process's one media clock (tests pass a clock they tick by hand). */
export type MediaTickSource = Pick<MediaClock, 'subscribe' | 'stats'> & Partial<Pick<MediaClock, 'afterTick'>>;

export type RtpDtmfSource = 'rfc4733' | 'inband';
export type DtmfSendMode = RtpDtmfSource;

export interface RtpDtmfEvent {
  /** One of 0-9, *, #, A-D. */
  digit: string;
  /** RFC 4733 telephone event, or detected in the received audio. */
  source: RtpDtmfSource;
  /** How long the tone lasted (in-band only: an RFC 4733 digit is reported at its first packet). */
  durationMs?: number;
}

export interface RtpAudioInfo {
  /** The packet's RTP timestamp (8000 Hz). */
  timestamp: number;
  sequenceNumber: number;
}

export interface RtpSessionEvents {
  /**
   * Received audio, decoded, in sequence order: one packet's samples (160 at the usual 20 ms). The
   * array is the session's own and is overwritten by the next packet's: a listener that keeps the
   * samples copies them (every listener here does). Not emitted while the direction does not receive.
   */
  audio: [Int16Array, RtpAudioInfo];
  /**
   * What the remote party hears from us, once per media clock tick (160 samples): the audio sent, or
   * silence when none was (muted, on hold, during an RFC 4733 event). For recording the TX leg. Only
   * built while someone listens. Like `audio`'s, the array is valid during the event only: copy to keep.
   */
  tx: [Int16Array];
  /** A DTMF key the remote party pressed, once per key press. */
  dtmf: [RtpDtmfEvent];
  /** We now send to where the remote party's packets come from (symmetric RTP). */
  latched: [RtpEndpoint];
}

export interface RtpSessionStats {
  /** Our SSRC. */
  ssrc: number;
  /** RTP packets (audio and telephone events) and their bytes (RTP header included). */
  packetsSent: number;
  bytesSent: number;
  /** Well-formed RTP packets from the remote party, and their bytes. */
  packetsReceived: number;
  bytesReceived: number;
  /** Sequence numbers that never arrived (given up by the reorder buffer). */
  lost: number;
  /** Arrived after their place was given up (dropped; also counted lost). */
  late: number;
  duplicates: number;
  /** Arrived out of order but in time (played in order). */
  reordered: number;
  /** Datagrams on the RTP port that are not RTP (garbage, truncated, another version). */
  invalid: number;
  /** SRTP packets whose authentication tag is wrong (forged, corrupted, another key): dropped. */
  srtpAuthFailures: number;
  /** SRTP packets received already, or too old for the replay window: dropped. */
  srtpReplays: number;
  /** RTP from another source than the one we latched to (dropped). */
  foreign: number;
  /** RTP of a payload type that was not negotiated (comfort noise, another codec): dropped. */
  ignored: number;
  /** RTCP packets received (on the RTCP port, or multiplexed on the RTP port): read no further. */
  rtcp: number;
  /** STUN packets on the RTP port (first byte 0–3, RFC 7983 §7: linphone's connectivity checks): dropped quietly. */
  stun: number;
  /** The remote party's SSRC changed (a new stream: the reorder buffer and DTMF state start over). */
  ssrcChanges: number;
  /** Sends the operating system refused, and other socket errors. */
  sendErrors: number;
  /** DTMF keys sent and received. */
  dtmfSent: number;
  dtmfReceived: number;
  /** How late the media clock ticked (so how late our packets left), process-wide: the send jitter. */
  sendJitter: { p50Ms: number; p99Ms: number; maxMs: number };
  /** RFC 3550 interarrival jitter of the received audio, ms (lib/media/interarrival-jitter.ts). */
  jitterMs: number;
}

export interface RtpSessionOptions extends Partial<Omit<RtpMediaParams, 'codec'>> {
  /** The bound ports (from RtpPortAllocator). The session owns them from now on and closes them on close(). */
  ports: RtpPortPair;
  codec: G711Codec;
  /** Default: the shared media clock (one for all calls). */
  clock?: MediaTickSource;
  /** How many packets may wait for a missing one (default 3, 60 ms). */
  reorderDepth?: number;
  /** Detect DTMF in the received audio too (default false). */
  inbandDtmf?: boolean;
  /**
   * Once latched, packets from another source are dropped unless the latched one has been silent
   * this long (default 1000 ms): then the new source is followed (the peer's media moved).
   */
  relatchMs?: number;
  /** Our SSRC (default random). */
  ssrc?: number;
  /** Where malformed packets are reported (a few per source, then a count every 10 s). Default: nowhere (they are counted in stats()). */
  log?: Logger;
  /**
   * Reads and writes the RTP socket in batches instead of through `dgram`'s events (the media
   * worker's native I/O, lib/media-engine/native-rtp-io.ts). Default, or when it cannot take the
   * socket over: `dgram`.
   */
  io?: RtpSocketIo;
}

/** Audio waiting to be sent. */
export interface QueuedAudio {
  /** Resolves when the last sample left (`stopped: false`) or when stop()/close() cut it short. */
  readonly done: Promise<PlaybackResult>;
  /** Drops what of it has not been sent yet. */
  stop(): void;
}

interface QueueEntry {
  /** The audio (its `position` is what was sent). */
  source: PcmSource;
  resolve: (result: PlaybackResult) => void;
  finished: boolean;
}

type DtmfStep = { kind: 'event'; timestamp: number; marker: boolean; payload: Buffer } | { kind: 'tone'; frame: Int16Array } | { kind: 'gap' };

interface DtmfJob {
  digits: string;
  durationMs: number;
  mode: DtmfSendMode;
  /** The next digit to expand into steps. */
  index: number;
  steps: DtmfStep[];
  at: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const GAP_STEPS = DTMF_GAP_MS / PACKET_MS;

/**
 * The media of one call leg: G.711 RTP at 20 ms over UDP, sent on the ticks of the one media clock
 * all calls share, received through a reorder buffer. See docs/sip-media.md.
 *
 * Sending, on every tick: the next 20 ms of the queued audio ({@link play}), or silence when nothing
 * is queued; nothing while muted or while the direction does not send; RFC 4733 or in-band DTMF
 * instead of the audio while keys are being sent (the queue waits meanwhile). The RTP timestamp
 * advances 160 per tick whether or not a packet leaves; the first audio packet after a pause has
 * the marker bit. Packets go to where the remote party's packets come from once one has arrived
 * (symmetric RTP), before that to the SDP address.
 *
 * Receiving: RTCP and anything that is not RTP is counted and dropped; packets from the latched
 * source go through the reorder buffer (every payload type, as they share one sequence); then the
 * negotiated codec is decoded and emitted as `audio`, telephone events become one `dtmf` per key,
 * other payload types are counted as `ignored`. Nothing from the network makes it throw.
 */
export class RtpSession extends EventEmitter<RtpSessionEvents> implements RtpMedia {
  readonly ssrc: number;
  private readonly ports: RtpPortPair;
  private readonly malformedLog: LogRateLimiter | undefined;
  /** The clock it sends on (a conference room mixing this media ticks on the same one). */
  readonly clock: MediaTickSource;
  private readonly unsubscribe: () => void;
  private readonly relatchTicks: number;
  private params: RtpMediaParams;
  private dtmfSender: DtmfSender | null = null;
  private silencePayload: Buffer;
  /**
   * The frames handed to `audio` and `tx` listeners, filled in place each packet and tick: a new typed
   * array's memory lies outside V8's heap and counts as external memory: at 500 calls, 8 MB/s of each
   * (with the WAV writers' buffers) made V8 mark a media worker's whole heap every ~0.7 s
   * (docs/benchmarks.md, "Issue 12, session 12").
   */
  private readonly rxFrame = new Int16Array(SAMPLES_PER_PACKET);
  private readonly txSilence = new Int16Array(SAMPLES_PER_PACKET);
  private isMuted = false;
  private isClosed = false;
  /** SRTP (lib/sip/srtp.ts): our key protects what we send, theirs unprotects what arrives; `null`: plain RTP. */
  private srtp: { keys: SrtpKeys; tx: SrtpContext; rx: SrtpContext } | null = null;
  private closing: Promise<void> | null = null;
  /** Recordings running on this media (they end when it closes). */
  private readonly recorders = new Set<AttachedRecorder>();
  /** Call analyses running on this media (they stop when it closes). */
  private readonly analyses = new Set<AnalysisHandle>();

  // Sending.
  private seq: number;
  private timestamp: number;
  private lastTick: number | null = null;
  /** The previous tick sent no audio packet: the next one starts a talkspurt (marker bit). */
  private audioPaused = true;
  private readonly queue: QueueEntry[] = [];
  private readonly dtmfJobs: DtmfJob[] = [];
  /** What is sent when nothing is queued (a conference room's mix, lib/conference/mix-room.ts); `null`: silence. */
  private fill: (() => Int16Array | null) | null = null;
  /** The memory of the audio packets sent (reused: see send()), and the sends the socket has not called back for. */
  private txPacket: Buffer | null = null;
  private sendsInFlight = 0;
  /** The RTP socket taken over by the batched I/O (RtpSessionOptions.io), or null: `dgram`'s events. */
  private readonly wire: AttachedRtpSocket | null;
  /** Listeners of `tx` (kept up to date by newListener / removeListener: a tick asks, 50 times a second). */
  private txListeners = 0;

  // Receiving.
  private latched: RtpEndpoint | null = null;
  private lastRxTick = 0;
  private rxSsrc: number | null = null;
  private rxWaiting = false;
  private readonly reorder: JitterBuffer<RtpPacket>;
  private readonly dtmfReceiver = new DtmfReceiver();
  private inband: GoertzelDtmfDetector | null = null;
  private readonly rxJitter = new InterarrivalJitter();

  private readonly counts = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    invalid: 0,
    srtpAuthFailures: 0,
    srtpReplays: 0,
    foreign: 0,
    ignored: 0,
    rtcp: 0,
    stun: 0,
    ssrcChanges: 0,
    sendErrors: 0,
    dtmfSent: 0,
    dtmfReceived: 0,
  };

  constructor(options: RtpSessionOptions) {
    super();
    const o = checkOptions('RtpSession', options);
    if (!o.ports || typeof o.ports !== 'object' || !o.ports.rtp) throw new TypeError('"ports" must be a port pair from RtpPortAllocator');
    this.ports = o.ports;
    const log = o.log;
    this.malformedLog = log ? new LogRateLimiter({ write: (line) => log.warn(line), what: 'malformed RTP packets' }) : undefined;
    this.clock = o.clock ?? sharedMediaClock;
    this.reorder = new JitterBuffer({ depth: o.reorderDepth ?? 3 });
    this.relatchTicks = Math.ceil(checkInt('relatchMs', o.relatchMs ?? 1000, 0, 60_000) / PACKET_MS);
    this.ssrc = o.ssrc === undefined ? randomBytes(4).readUInt32BE(0) : checkInt('ssrc', o.ssrc, 0, 0xffffffff);
    const random = randomBytes(6);
    this.seq = random.readUInt16BE(0);
    this.timestamp = random.readUInt32BE(2);
    this.params = checkParams({
      codec: o.codec,
      payloadType: o.payloadType ?? STATIC_PAYLOAD_TYPES[o.codec] ?? -1,
      telephoneEventPt: o.telephoneEventPt ?? null,
      remote: o.remote ?? null,
      direction: o.direction ?? 'sendrecv',
    });
    this.silencePayload = silenceFor(this.params.codec);
    this.applyTelephoneEvent();
    this.setInbandDtmf(o.inbandDtmf ?? false);

    this.dtmfReceiver.on('digit', (d) => {
      this.counts.dtmfReceived++;
      this.emit('dtmf', { digit: d.digit, source: 'rfc4733' });
    });
    const events = this as EventEmitter;
    events.on('newListener', (event: string | symbol) => {
      if (event === 'tx') this.txListeners++;
    });
    events.on('removeListener', (event: string | symbol) => {
      if (event === 'tx') this.txListeners--;
    });
    this.wire = o.io?.attach(this.ports.rtp, this.onPacket, this.onSendRefused) ?? null;
    if (!this.wire) this.ports.rtp.on('message', this.onMessage);
    this.ports.rtp.on('error', this.onSocketError);
    this.ports.rtcp.on('message', this.onRtcp);
    this.ports.rtcp.on('error', this.onSocketError);
    this.unsubscribe = this.clock.subscribe(this.onTick);
  }

  get localAddress(): string {
    return this.ports.address;
  }

  get localPort(): number {
    return this.ports.rtpPort;
  }

  /** The negotiated parameters in force. */
  get media(): Readonly<RtpMediaParams> {
    return this.params;
  }

  /** Where packets go now: the latched source, else the SDP address, else nowhere. */
  get target(): RtpEndpoint | null {
    return this.latched ?? this.params.remote;
  }

  get muted(): boolean {
    return this.isMuted;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Applies what a new offer/answer decided (a re-INVITE: hold, resume, another address or codec).
   * A new remote address forgets the latched source (the media moved).
   */
  configure(update: Partial<RtpMediaParams>): void {
    const next = nextMediaParams(this.params, update);
    const before = this.params;
    this.params = next;
    if (!sameEndpoint(before.remote, next.remote)) this.latched = null;
    if (before.codec !== next.codec) this.silencePayload = silenceFor(next.codec);
    if (before.telephoneEventPt !== next.telephoneEventPt) this.applyTelephoneEvent();
    if (!sends(next.direction)) {
      this.failDtmf(new CallStateError(`DTMF cannot be sent: the call's media is now ${next.direction} (on hold)`));
    }
  }

  /**
   * Encrypts what we send and decrypts what arrives with SRTP (keys agreed by SDES), or stops (`null`).
   * A side whose key did not change keeps its state (its rollover counter, its replay window).
   */
  setSrtp(keys: SrtpKeys | null): void {
    const before = this.srtp;
    if (!keys) {
      this.srtp = null;
      return;
    }
    const same = (a: Buffer | undefined, b: Buffer): boolean => a !== undefined && a.equals(b) && before?.keys.suite === keys.suite;
    this.srtp = {
      keys,
      tx: before && same(before.keys.local, keys.local) ? before.tx : new SrtpContext(keys.suite, keys.local),
      rx: before && same(before.keys.remote, keys.remote) ? before.rx : new SrtpContext(keys.suite, keys.remote),
    };
  }

  /** The SRTP suite in force, or `null` (plain RTP). */
  get srtpSuite(): SrtpKeys['suite'] | null {
    return this.srtp?.keys.suite ?? null;
  }

  /** `sendrecv`, `sendonly` (we hold the remote party), `recvonly` (it holds us) or `inactive`. */
  setDirection(direction: MediaDirection): void {
    this.configure({ direction });
  }

  /** Stops sending audio (DTMF still goes). */
  mute(): void {
    this.isMuted = true;
  }

  unmute(): void {
    this.isMuted = false;
  }

  /** Turns in-band DTMF detection on the received audio on or off. */
  setInbandDtmf(enabled: boolean): void {
    if (typeof enabled !== 'boolean') throw new TypeError('"inbandDtmf" must be true or false');
    if (enabled === (this.inband !== null)) return;
    if (!enabled) {
      this.inband?.removeAllListeners();
      this.inband = null;
      return;
    }
    const detector = new GoertzelDtmfDetector();
    detector.on('digit', (d) => {
      if (this.isClosed) return;
      this.counts.dtmfReceived++;
      this.emit('dtmf', { digit: d.digit, source: 'inband', durationMs: Math.round(d.durationMs) });
    });
    this.inband = detector;
  }

  /**
   * Queues 8 kHz samples to send after what is queued. They go out 20 ms per tick, in real time:
   * while muted or on hold they are still consumed (not sent), while DTMF is being sent they wait.
   */
  play(audio: Int16Array | PcmSource): QueuedAudio {
    if (!(audio instanceof Int16Array) && !isPcmSource(audio)) throw new TypeError('"pcm" must be an Int16Array of 8 kHz samples or a PcmSource');
    const source = toPcmSource(audio);
    let resolve!: (result: PlaybackResult) => void;
    const done = new Promise<PlaybackResult>((r) => (resolve = r));
    const entry: QueueEntry = { source, resolve, finished: false };
    if (source.length === 0 || this.isClosed) finishEntry(entry, source.length > 0);
    else this.queue.push(entry);
    return {
      done,
      stop: () => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        finishEntry(entry, true);
      },
    };
  }

  /**
   * Records this media (lib/media/call-recorder.ts): from the moment its file is open, every tick is
   * one frame of the sent leg (`tx`) and one of the received (`audio`, through a playout buffer), to
   * a WAV file and/or the sink's chunks. It ends on `stop()`, when this media closes
   * (`media-closed`), or on an error; `sink.end` hears it once. A media worker's proxy of a session
   * offers the same method with the same plain-data types. Throws TypeError for a bad spec.
   */
  record(spec: RecorderSpec, sink: RecorderSink): RecorderHandle {
    const handle: AttachedRecorder = recordMediaEvents(this, spec, sink, () => this.recorders.delete(handle));
    this.recorders.add(handle);
    if (this.isClosed) handle.mediaClosed();
    return handle;
  }

  /**
   * Analyses the received audio (lib/analysis/analysis-host.ts: a CallAnalyser fed the audio on its
   * own RTP timeline, the ticks making time pass when none comes); results go to `sink` until it is done, stopped, or this
   * media closes. A media worker's proxy of a session offers the same method (the analysers run in
   * the worker). Throws TypeError for bad options.
   */
  analyse(options: AnalysisOptions, sink: AnalysisSink): AnalysisHandle {
    const handle = analyseMediaEvents(this, options, sink);
    if (this.isClosed) handle.stop();
    else this.analyses.add(handle);
    return { answered: () => handle.answered(), stop: () => (handle.stop(), this.analyses.delete(handle)) };
  }

  /**
   * What to send on the ticks where nothing is queued (a conference room's mix for this party,
   * lib/conference): called once per such tick; `null` from it, or no fill, sends silence.
   */
  setFill(fill: (() => Int16Array | null) | null): void {
    this.fill = fill;
  }

  /** Drops all queued audio (each `done` resolves with `stopped: true`). */
  clearQueue(): void {
    for (const entry of this.queue.splice(0)) finishEntry(entry, true);
  }

  /** Samples queued and not sent yet, in ms. */
  get queuedMs(): number {
    return this.queue.reduce((n, e) => n + e.source.length - e.source.position, 0) / 8;
  }

  /**
   * Sends DTMF keys, one after the other, each `durationMs` long (40–1000) followed by
   * {@link DTMF_GAP_MS} of silence: as RFC 4733 events (default; marker on the first packet, one
   * timestamp per key, three end packets), or as tones in the audio (`inband`). Resolves once the last
   * packet of the last key left. Rejects with CallStateError when the media does not send (on hold,
   * no remote address yet, closed), NotSupportedError when RFC 4733 was not negotiated.
   */
  sendDtmf(digits: string, durationMs: number = DEFAULT_DTMF_DURATION_MS, mode: DtmfSendMode = 'rfc4733'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      checkDtmfRequest(this, digits, durationMs, mode);
      this.dtmfJobs.push({ digits: digits.toUpperCase(), durationMs, mode, index: 0, steps: [], at: 0, resolve, reject });
    });
  }

  stats(): RtpSessionStats {
    const r = this.reorder.stats();
    const { p50Ms, p99Ms, maxMs } = this.clock.stats().lateness;
    return {
      ssrc: this.ssrc,
      ...this.counts,
      lost: r.lost,
      late: r.late,
      duplicates: r.duplicates,
      reordered: r.reordered,
      sendJitter: { p50Ms, p99Ms, maxMs },
      jitterMs: this.rxJitter.ms,
    };
  }

  /**
   * Writes what {@link stats} says into `into`, in the order of a media worker's shared counters
   * (STATS_FIELDS, lib/media-engine/protocol.ts: `readStats` reads it back), without building the
   * object: a media worker writes every leg's counters every tick, and the objects of `stats()` were
   * ~8 % of its time and a good part of its garbage at 500 calls (docs/benchmarks.md, session 8).
   */
  writeStats(into: Float64Array): void {
    writeCounters(into, this.ssrc, this.counts, this.reorder.counters, this.rxJitter.ms, this.clock.stats().lateness);
  }

  /**
   * Stops sending and receiving, resolves queued audio as stopped, rejects pending DTMF, releases
   * the clock subscription and the ports. Nothing is emitted afterwards. Again: the same promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.unsubscribe();
    if (this.wire) this.wire.detach();
    else this.ports.rtp.off('message', this.onMessage);
    this.ports.rtcp.off('message', this.onRtcp);
    this.malformedLog?.close();
    this.clearQueue();
    for (const r of [...this.recorders]) r.mediaClosed();
    for (const a of this.analyses) a.stop();
    this.analyses.clear();
    this.failDtmf(new CallStateError('DTMF was not sent: the call\'s media closed'));
    this.closing = this.ports.close();
    return this.closing;
  }

  // ── sending ───────────────────────────────────────────────────────────────────────────────────

  private readonly onTick = (tick: number): void => {
    if (this.isClosed) return;
    if (this.lastTick !== null) this.timestamp = (this.timestamp + (tick - this.lastTick) * SAMPLES_PER_PACKET) >>> 0;
    this.lastTick = tick;
    // The reorder buffer has no clock: when packets stop coming while some wait behind a gap
    // (the end of a talkspurt, a hold), hand them out rather than keep them forever.
    if (this.rxWaiting && tick - this.lastRxTick > this.reorder.depth) {
      this.rxWaiting = false;
      this.deliver(this.reorder.flush());
    }
    const canSend = sends(this.params.direction) && this.target !== null;
    let heard: Int16Array | null = null;
    const step = this.nextDtmfStep();
    if (step?.kind === 'event') {
      if (canSend) this.send(this.params.telephoneEventPt as number, step.marker, step.timestamp, step.payload);
      this.audioPaused = true;
    } else {
      // In-band keys go even while muted (DTMF is not the microphone); the gaps and the audio do not.
      const frame = step?.kind === 'tone' ? step.frame : step ? null : (this.nextQueuedFrame() ?? this.fill?.() ?? null);
      const sendAudio = canSend && (step?.kind === 'tone' || !this.isMuted);
      if (sendAudio) {
        const payload = frame ? encodeG711(STATIC_PAYLOAD_TYPES[this.params.codec], frame) : this.silencePayload;
        this.send(this.params.payloadType, this.audioPaused, this.timestamp, payload);
        heard = frame;
      }
      this.audioPaused = !sendAudio;
    }
    if (this.txListeners === 0) return;
    // What was sent goes to its listeners (a recording's mix and write) once every call's packet of
    // this tick has left, where the clock can say when (docs/media-engine.md, "One tick").
    if (heard === null) {
      heard = this.txSilence;
      heard.set(ZERO_FRAME); // (zeroed again: a listener may have written into it)
    }
    this.txHeard = heard;
    if (this.clock.afterTick) this.clock.afterTick(this.emitTx);
    else this.emitTx();
  };

  /** This tick's sent frame, until its `tx` listeners had it. */
  private txHeard: Int16Array | null = null;

  private readonly emitTx = (): void => {
    const heard = this.txHeard;
    this.txHeard = null;
    if (heard && !this.isClosed && this.txListeners > 0) this.emit('tx', heard);
  };

  private send(payloadType: number, marker: boolean, timestamp: number, payload: Buffer): void {
    const target = this.target as RtpEndpoint;
    const size = RTP_HEADER_SIZE + payload.length;
    // The packet's memory is reused from tick to tick once the socket said the last send completed
    // (no send in flight: the kernel has copied it); otherwise, or for another size, a new one.
    let out = this.txPacket;
    if (this.sendsInFlight > 0 || out === null || out.length !== size) {
      out = Buffer.allocUnsafeSlow(size); // every byte is written
      if (this.sendsInFlight === 0 && payload.length === this.silencePayload.length) this.txPacket = out;
    }
    const plain = writePlainRtp(out, payloadType, marker, this.seq, timestamp, this.ssrc, payload);
    const packet = this.srtp ? this.srtp.tx.protectRtp(plain) : plain;
    this.seq = (this.seq + 1) & 0xffff;
    this.counts.packetsSent++;
    this.counts.bytesSent += packet.length;
    if (this.wire) {
      // Sent (copied by the kernel) or refused before this returns: the packet's memory is free again.
      if (!this.wire.send(packet, target.port, target.address)) this.counts.sendErrors++;
      return;
    }
    try {
      this.ports.rtp.send(packet, target.port, target.address, this.onSent);
      this.sendsInFlight++;
    } catch {
      this.counts.sendErrors++;
    }
  }

  /** A send the batched I/O queued and the kernel refused later (io_uring). */
  private readonly onSendRefused = (): void => {
    this.counts.sendErrors++;
  };

  private readonly onSent = (err: Error | null): void => {
    this.sendsInFlight--;
    if (err) this.counts.sendErrors++;
  };

  /**
   * The next 160 queued samples (zero-padded at the end of the queue, or where a file source's reader
   * is behind), or `null` when nothing is queued.
   */
  private nextQueuedFrame(): Int16Array | null {
    if (this.queue.length === 0) return null;
    const frame = allocInt16(SAMPLES_PER_PACKET);
    let filled = 0;
    while (filled < SAMPLES_PER_PACKET && this.queue.length > 0) {
      const entry = this.queue[0];
      const want = SAMPLES_PER_PACKET - filled;
      const got = entry.source.take(want);
      frame.set(got, filled);
      filled += got.length;
      if (entry.source.position >= entry.source.length) {
        this.queue.shift();
        finishEntry(entry, false);
      } else if (got.length < want) {
        break; // its reader is behind: silence for the rest of this frame, the rest of the audio next tick
      }
    }
    return frame;
  }

  /** This tick's step of the DTMF being sent, or `null` when none is. */
  private nextDtmfStep(): DtmfStep | null {
    const job = this.dtmfJobs[0];
    if (!job) return null;
    if (job.at === job.steps.length) {
      job.steps = this.expandDigit(job, job.digits[job.index++]);
      job.at = 0;
    }
    const step = job.steps[job.at++];
    if (step.kind === 'event' && step.marker) this.counts.dtmfSent++;
    if (step.kind === 'tone' && job.at === 1) this.counts.dtmfSent++; // a key's first frame
    if (job.at === job.steps.length && job.index === job.digits.length) {
      this.dtmfJobs.shift();
      // Resolved after this tick's packet is handed to the socket (the caller learns "sent").
      queueMicrotask(job.resolve);
    }
    return step;
  }

  /** One key's steps: its packets or tone frames (one per tick), then the gap. */
  private expandDigit(job: DtmfJob, digit: string): DtmfStep[] {
    const steps: DtmfStep[] = [];
    if (job.mode === 'rfc4733') {
      // The event's timestamp is the RTP clock of the tick its first packet leaves (RFC 4733 §2.3.1).
      // (There is always a sender here: RFC 4733 keys are rejected when telephone-event is dropped.)
      for (const p of this.dtmfSender?.packets(digit, this.timestamp, job.durationMs) ?? []) {
        steps.push({ kind: 'event', timestamp: p.timestamp, marker: p.marker, payload: p.payload });
      }
    } else {
      const tone = dtmfTone(digit, job.durationMs);
      for (let i = 0; i < tone.length; i += SAMPLES_PER_PACKET) {
        const frame = allocInt16(SAMPLES_PER_PACKET);
        frame.set(tone.subarray(i, i + SAMPLES_PER_PACKET));
        steps.push({ kind: 'tone', frame });
      }
    }
    // In-band, the pause is part of the signal (it separates two presses of a key): it goes as
    // silence even while muted. With RFC 4733 it is ordinary audio time.
    for (let i = 0; i < GAP_STEPS; i++) {
      steps.push(job.mode === 'inband' ? { kind: 'tone', frame: allocInt16(SAMPLES_PER_PACKET) } : { kind: 'gap' });
    }
    return steps;
  }

  private failDtmf(err: Error): void {
    for (const job of this.dtmfJobs.splice(0)) job.reject(err);
  }

  private applyTelephoneEvent(): void {
    const pt = this.params.telephoneEventPt;
    this.dtmfSender = pt === null ? null : new DtmfSender({ payloadType: pt });
    if (pt !== null) return;
    // No telephone-event any more (a re-INVITE dropped it): RFC 4733 keys cannot go, even the rest
    // of one being sent (its receiver ends it by itself when no more packets come).
    for (const job of this.dtmfJobs.filter((j) => j.mode === 'rfc4733')) {
      this.dtmfJobs.splice(this.dtmfJobs.indexOf(job), 1);
      job.reject(new NotSupportedError('RFC 4733 DTMF cannot be sent: the new SDP has no telephone-event'));
    }
  }

  // ── receiving ─────────────────────────────────────────────────────────────────────────────────

  private readonly onMessage = (received: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.onPacket(received, rinfo.address, rinfo.port, performance.now());
  };

  /** A datagram on the RTP port, from `dgram` or the batched I/O (which gives the kernel's arrival time). */
  private readonly onPacket = (received: Buffer, address: string, port: number, arrivalMs: number): void => {
    if (looksLikeRtcp(received)) {
      this.counts.rtcp++;
      return;
    }
    // RFC 7983 §7: a first byte of 0–3 is STUN, not RTP (peers with ICE send binding requests to the
    // RTP port): no ICE here, so it is dropped, counted, and not logged as malformed RTP.
    if (received.length > 0 && received[0] <= 3) {
      this.counts.stun++;
      return;
    }
    // SRTP: only packets that authenticate go further (latching included); see lib/sip/srtp.ts.
    const buf = this.srtp ? this.srtp.rx.unprotectRtp(received) : received;
    if (buf === 'auth' || buf === 'replay') {
      this.counts[buf === 'auth' ? 'srtpAuthFailures' : 'srtpReplays']++;
      return;
    }
    const packet = buf === 'malformed' ? null : parseRtp(buf);
    if (!packet) {
      this.counts.invalid++;
      const from = `${address}:${port}`;
      this.malformedLog?.note(from, () => `sip media: dropped a malformed RTP packet of ${received.length} bytes from ${from} (to port ${this.ports.rtpPort})`);
      return;
    }
    if (!this.acceptSource(address, port)) {
      this.counts.foreign++;
      return;
    }
    this.counts.packetsReceived++;
    this.counts.bytesReceived += received.length;
    this.lastRxTick = this.lastTick ?? 0;
    if (this.rxSsrc !== packet.ssrc) {
      if (this.rxSsrc !== null) {
        // A new stream (the peer restarted it, or another device answers now): its numbering and
        // its events have nothing to do with the old one's.
        this.counts.ssrcChanges++;
        this.deliver(this.reorder.flush());
        this.reorder.reset();
        this.dtmfReceiver.reset();
        this.rxJitter.restart();
      }
      this.rxSsrc = packet.ssrc;
    }
    // Audio only: an RFC 4733 event's packets all carry its start's timestamp.
    if (packet.payloadType === this.params.payloadType) this.rxJitter.push(arrivalMs, packet.timestamp);
    this.rxWaiting = true;
    this.deliver(this.reorder.push(packet.sequenceNumber, packet));
  };

  /** Symmetric RTP: latch to the first source, follow another only once the latched one fell silent. */
  private acceptSource(address: string, port: number): boolean {
    const from = this.latched;
    if (from && from.address === address && from.port === port) return true;
    if (from && (this.lastTick ?? 0) - this.lastRxTick < this.relatchTicks) return false;
    this.latched = { address, port };
    this.emit('latched', { ...this.latched });
    return true;
  }

  private deliver(packets: RtpPacket[]): void {
    for (const p of packets) {
      if (this.isClosed) return;
      if (p.payloadType === this.params.payloadType) {
        if (!receives(this.params.direction) || p.payload.length === 0) continue;
        const samples = decodeG711(STATIC_PAYLOAD_TYPES[this.params.codec], p.payload, this.rxFrame);
        this.emit('audio', samples, { timestamp: p.timestamp, sequenceNumber: p.sequenceNumber });
        this.inband?.push(samples);
      } else if (p.payloadType === this.params.telephoneEventPt) {
        if (receives(this.params.direction)) this.dtmfReceiver.push(p.timestamp, p.sequenceNumber, p.payload);
      } else {
        this.counts.ignored++;
      }
    }
  }

  private readonly onRtcp = (): void => {
    this.counts.rtcp++;
  };

  private readonly onSocketError = (): void => {
    this.counts.sendErrors++;
  };
}

/** One packet of silence in a codec (sent when nothing is queued; serializeRtp copies it). */
function silenceFor(codec: G711Codec): Buffer {
  return encodeG711(STATIC_PAYLOAD_TYPES[codec], ZERO_FRAME);
}

function finishEntry(entry: QueueEntry, stopped: boolean): void {
  if (entry.finished) return;
  entry.finished = true;
  entry.resolve({ playedMs: entry.source.position / 8, stopped });
}

function sameEndpoint(a: RtpEndpoint | null, b: RtpEndpoint | null): boolean {
  return a === b || (a !== null && b !== null && a.address === b.address && a.port === b.port);
}

/**
 * Throws what {@link RtpSession.sendDtmf} rejects with when keys cannot go now (TypeError for bad
 * arguments, CallStateError, NotSupportedError): one check for every {@link RtpMedia}.
 */
export function checkDtmfRequest(media: Pick<RtpMedia, 'closed' | 'media' | 'target'>, digits: string, durationMs: number, mode: DtmfSendMode): void {
  if (typeof digits !== 'string' || digits.length === 0 || [...digits].some((d) => dtmfKeyToEvent(d) === null)) {
    throw new TypeError(`"digits" must be DTMF keys (0-9, *, #, A-D), got ${JSON.stringify(digits)}`);
  }
  checkInt('durationMs', durationMs, 40, 1000);
  checkOneOf('mode', mode, ['rfc4733', 'inband']);
  if (media.closed) throw new CallStateError('DTMF cannot be sent: the call\'s media is closed');
  if (!sends(media.media.direction)) {
    throw new CallStateError(`DTMF cannot be sent: the call's media is ${media.media.direction} (on hold)`);
  }
  if (!media.target) throw new CallStateError('DTMF cannot be sent: the remote party\'s media address is not known yet');
  if (mode === 'rfc4733' && media.media.telephoneEventPt === null) {
    throw new NotSupportedError(
      'RFC 4733 DTMF cannot be sent: the remote party did not accept telephone-event in its SDP (use SIP INFO or in-band DTMF)',
    );
  }
}

/** The parameters checked and normalised (what {@link RtpSession.configure} applies), as any {@link RtpMedia} checks them. */
export function checkMediaParams(p: RtpMediaParams): RtpMediaParams {
  return checkParams(p);
}

/** `update` applied to `current` (a new codec brings its static payload type unless one is given), checked. */
export function nextMediaParams(current: RtpMediaParams, update: Partial<RtpMediaParams>): RtpMediaParams {
  const merged = { ...current, ...update };
  if (update.codec !== undefined && update.payloadType === undefined) merged.payloadType = STATIC_PAYLOAD_TYPES[update.codec] ?? -1;
  return checkParams(merged);
}

function checkParams(p: RtpMediaParams): RtpMediaParams {
  checkOneOf('codec', p.codec, G711_CODECS);
  checkInt('payloadType', p.payloadType, 0, 127);
  if (p.telephoneEventPt !== null) checkInt('telephoneEventPt', p.telephoneEventPt, 96, 127);
  if (p.telephoneEventPt === p.payloadType) throw new TypeError('"telephoneEventPt" must differ from "payloadType"');
  checkOneOf('direction', p.direction, MEDIA_DIRECTIONS);
  let remote: RtpEndpoint | null = null;
  if (p.remote !== null) {
    if (typeof p.remote !== 'object') throw new TypeError('"remote" must be { address, port } or null');
    remote = { address: checkIpv4('remote.address', p.remote.address), port: checkInt('remote.port', p.remote.port, 1, 65535) };
  }
  return { ...p, remote };
}
