import type { MediaPriority } from './thread-priority';
import type { AnalysisEvent } from '../analysis/analyser';
import type { AnalysisOptions } from '../capabilities/analysis';
import type { AudioChunkInfo } from '../media/audio-chunker';
import type { RecorderResult, RecorderSpec } from '../media/call-recorder';
import type { G711Codec, MediaDirection, RtpMediaParams } from '../sip/media-params';
import type { DtmfSendMode, RtpDtmfSource, RtpSessionStats } from '../sip/rtp-session';
import type { SrtpKeys } from '../sip/sdes';
import type { MixCommand, MixEvent } from '../conference/worker-mixing';

/**
 * The messages between the main thread and a media worker (docs/media-engine.md, "What crosses").
 * Plain data only (structured clone): no functions, no class instances; Buffers cross as Uint8Array.
 *
 * Main → worker: one {@link Command} per postMessage, as the SIP code makes them (they are rare:
 * a few per call). Worker → main: ONE {@link Batch} per media tick carrying every event of every
 * call since the last batch, and a batch right after a command whose answer is waited for (an
 * open, a stopped playback, a close): never one message per packet.
 */

/** Each call leg on a worker is named by a number the main thread chose. */
export type LegId = number;

export interface OpenCommand {
  t: 'open';
  id: LegId;
  /** Where to bind: the RTP socket at `port`, RTCP at `port + 1` (the line's allocator chose them). */
  address: string;
  port: number;
  codec: G711Codec;
  direction: MediaDirection;
  inbandDtmf: boolean;
  /** Where the worker keeps the leg's counters ({@link STATS_FIELDS}, Float64): read by main at any time. */
  stats: SharedArrayBuffer;
}

/** SRTP keys as they cross (Buffers become Uint8Array in a structured clone). */
export type WireSrtpKeys = { suite: SrtpKeys['suite']; tag: number; local: Uint8Array; remote: Uint8Array } | null;

export type Command =
  | OpenCommand
  | { t: 'configure'; id: LegId; update: Partial<RtpMediaParams> }
  | { t: 'srtp'; id: LegId; keys: WireSrtpKeys }
  | { t: 'mute'; id: LegId; on: boolean }
  | { t: 'inband'; id: LegId; on: boolean }
  /** Send the leg's `audio` / `tx` frames in the batches (someone on main listens), or stop. */
  | { t: 'listen'; id: LegId; audio: boolean; tx: boolean }
  /**
   * Audio to play: the first samples of playback `play` (`length` in all, as the main-thread source
   * says now), then more with `feed` as the worker asks ({@link PlayWant}). `length` may shrink
   * (the file could not be read further), never grow.
   */
  | { t: 'play'; id: LegId; play: number; length: number; samples: Int16Array }
  | { t: 'feed'; id: LegId; play: number; length: number; samples: Int16Array }
  | { t: 'stop-play'; id: LegId; play: number }
  | { t: 'clear'; id: LegId }
  /** A recording run in the worker (lib/media/call-recorder.ts: its WAV file is written there). */
  | { t: 'record'; id: LegId; rec: number; spec: RecorderSpec }
  | { t: 'stop-record'; id: LegId; rec: number }
  | { t: 'dtmf'; id: LegId; req: number; digits: string; durationMs: number; mode: DtmfSendMode }
  /** Call analysis `an` of the leg (lib/analysis/analysis-host.ts; the worker builds the analysers): start, the answer, stop. */
  | { t: 'analyse'; id: LegId; an: number; options: AnalysisOptions }
  | { t: 'analysis-answered'; id: LegId; an: number }
  | { t: 'stop-analysis'; id: LegId; an: number }
  | { t: 'close'; id: LegId }
  /** The worker thread's scheduling priority (lib/media-engine/thread-priority.ts; `id` 0: no leg). */
  | { t: 'priority'; id: 0; priority: MediaPriority }
  /** Conference rooms (lib/conference/worker-mixing.ts). */
  | MixCommand;

/** An error as it crosses: its class name (CallStateError, NotSupportedError, TypeError, ...), message and code. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** A playback that has `fed - position` samples left in the worker, below the low-water mark: send more. */
export interface PlayWant {
  e: 'want';
  id: LegId;
  play: number;
  position: number;
}

export type MediaEvent =
  | { e: 'opened'; id: LegId; ssrc: number }
  | { e: 'open-failed'; id: LegId; error: WireError }
  | { e: 'dtmf'; id: LegId; digit: string; source: RtpDtmfSource; durationMs?: number }
  | { e: 'latched'; id: LegId; address: string; port: number }
  | PlayWant
  | { e: 'played'; id: LegId; play: number; playedMs: number; stopped: boolean }
  | { e: 'dtmf-done'; id: LegId; req: number; error?: WireError }
  /** Samples `[off, off + len)` of the batch's `pcm`: received audio (`audio`) or what we sent (`tx`). */
  | { e: 'audio'; id: LegId; off: number; len: number; timestamp: number; sequenceNumber: number }
  | { e: 'tx'; id: LegId; off: number; len: number }
  /** Recording `rec` takes the audio (`early: null`), or ended before it could (its result). */
  | { e: 'rec-started'; id: LegId; rec: number; early: RecorderResult | null }
  | { e: 'rec-chunk'; id: LegId; rec: number; payload: Uint8Array; audio: AudioChunkInfo }
  | { e: 'rec-end'; id: LegId; rec: number; result: RecorderResult }
  /** A result of call analysis `an` of the leg. */
  | { e: 'analysis'; id: LegId; an: number; event: AnalysisEvent }
  | { e: 'log'; id: LegId; level: 'debug' | 'info' | 'warn' | 'error'; line: string }
  | { e: 'closed'; id: LegId }
  /** The thread's priority as asked (at its start or by a `priority` command): `refused` says why it was not set, null once it was. */
  | { e: 'priority'; id: 0; priority: MediaPriority; refused: string | null }
  /** A conference party's talk detection (lib/conference/worker-mixing.ts). */
  | MixEvent;

/** What a worker posts: the events in the order they happened, and the audio they point into (transferred). */
export interface Batch {
  events: MediaEvent[];
  pcm: Int16Array | null;
}

/**
 * The counters of {@link RtpSessionStats} in a leg's shared stats buffer, in this order (the worker
 * writes them every {@link STATS_EVERY_TICKS} ticks, and when the leg opens and closes).
 */
export const STATS_FIELDS = [
  'ssrc',
  'packetsSent',
  'bytesSent',
  'packetsReceived',
  'bytesReceived',
  'lost',
  'late',
  'duplicates',
  'reordered',
  'invalid',
  'srtpAuthFailures',
  'srtpReplays',
  'foreign',
  'ignored',
  'rtcp',
  'stun',
  'ssrcChanges',
  'sendErrors',
  'dtmfSent',
  'dtmfReceived',
  'jitterMs',
  'sendJitterP50',
  'sendJitterP99',
  'sendJitterMax',
] as const;

/**
 * A leg's counters are written every tick (the legs in turn when this is more than 1): `stats()` on
 * the main thread is at most a tick old. 5 (100 ms) saved another ~4 % of a worker's time at 200
 * calls, but the figures a call's `ended` event reads before its leg closed were then up to 5
 * packets short (test/integration/sip-early-media.test.ts counts the packets up to the keys).
 */
export const STATS_EVERY_TICKS = 1;

export function statsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(STATS_FIELDS.length * Float64Array.BYTES_PER_ELEMENT);
}

/** The counters {@link writeCounters} takes from a session's own tally. */
export type SessionCounts = Omit<RtpSessionStats, 'ssrc' | 'lost' | 'late' | 'duplicates' | 'reordered' | 'sendJitter' | 'jitterMs'>;
/** The counters {@link writeCounters} takes from a session's reorder buffer. */
export type ReorderCounts = Pick<RtpSessionStats, 'lost' | 'late' | 'duplicates' | 'reordered'>;

/**
 * Writes the counters in the order of {@link STATS_FIELDS}, from their pieces as a session keeps
 * them (RtpSession.writeStats: no stats object is built). Field by field on purpose: a media worker
 * does it for each of its legs every tick; the generic form (a flattened copy read by name) cost 10 %
 * of a worker's time at 200 calls, and building `stats()` objects ~8 % at 500 (docs/benchmarks.md,
 * "Where a media worker's time goes").
 */
export function writeCounters(
  into: Float64Array,
  ssrc: number,
  c: SessionCounts,
  r: ReorderCounts,
  jitterMs: number,
  sendJitter: RtpSessionStats['sendJitter'],
): void {
  into[0] = ssrc;
  into[1] = c.packetsSent;
  into[2] = c.bytesSent;
  into[3] = c.packetsReceived;
  into[4] = c.bytesReceived;
  into[5] = r.lost;
  into[6] = r.late;
  into[7] = r.duplicates;
  into[8] = r.reordered;
  into[9] = c.invalid;
  into[10] = c.srtpAuthFailures;
  into[11] = c.srtpReplays;
  into[12] = c.foreign;
  into[13] = c.ignored;
  into[14] = c.rtcp;
  into[15] = c.stun;
  into[16] = c.ssrcChanges;
  into[17] = c.sendErrors;
  into[18] = c.dtmfSent;
  into[19] = c.dtmfReceived;
  into[20] = jitterMs;
  into[21] = sendJitter.p50Ms;
  into[22] = sendJitter.p99Ms;
  into[23] = sendJitter.maxMs;
}

/** Writes `s` in the order of {@link STATS_FIELDS}. */
export function writeStats(into: Float64Array, s: RtpSessionStats): void {
  writeCounters(into, s.ssrc, s, s, s.jitterMs, s.sendJitter);
}

export function readStats(from: Float64Array): RtpSessionStats {
  const flat = {} as Record<(typeof STATS_FIELDS)[number], number>;
  for (let i = 0; i < STATS_FIELDS.length; i++) flat[STATS_FIELDS[i]] = from[i];
  const { sendJitterP50, sendJitterP99, sendJitterMax, ...rest } = flat;
  return { ...rest, sendJitter: { p50Ms: sendJitterP50, p99Ms: sendJitterP99, maxMs: sendJitterMax } };
}

export function toWireError(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}
