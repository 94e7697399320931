import type { EventEmitter } from 'node:events';
import type { AnalysisHandle, AnalysisSink } from '../analysis/analysis-host';
import type { AnalysisOptions } from '../capabilities/analysis';
import type { RecordableMedia } from '../media/call-recorder';
import type { PcmSource } from '../media/pcm-source';
import type { MediaDirection, RtpEndpoint, RtpMediaParams } from '../sip/media-params';
import type { DtmfSendMode, QueuedAudio, RtpSessionEvents, RtpSessionStats } from '../sip/rtp-session';
import type { SrtpKeys } from '../sip/sdes';

/**
 * The media of one call leg as the SIP code uses it (lib/sip/rtp-description-handler.ts, sip-audio,
 * sip-control, sip-dtmf, sip-media-stats): what {@link RtpSession} does in this thread, and what
 * {@link RemoteRtpSession} does by driving an RtpSession in a media worker (docs/media-engine.md).
 * The SIP code depends on this, never on where the media runs.
 *
 * Events (`audio`, `tx`, `dtmf`, `latched`) are RtpSession's. Through a worker, `audio` and `tx`
 * arrive once per media tick in a batch (in the order the worker emitted them), and only while
 * someone listens (the worker sends them only then).
 */
export interface RtpMedia extends EventEmitter<RtpSessionEvents>, RecordableMedia {
  readonly localAddress: string;
  readonly localPort: number;
  /** The negotiated parameters in force. */
  readonly media: Readonly<RtpMediaParams>;
  /** Where packets go now: the latched source, else the SDP address, else nowhere. */
  readonly target: RtpEndpoint | null;
  readonly muted: boolean;
  readonly closed: boolean;
  /** The SRTP suite in force, or `null` (plain RTP). */
  readonly srtpSuite: SrtpKeys['suite'] | null;
  /** Samples queued and not sent yet, in ms (through a worker: as of its last report). */
  readonly queuedMs: number;
  configure(update: Partial<RtpMediaParams>): void;
  setSrtp(keys: SrtpKeys | null): void;
  setDirection(direction: MediaDirection): void;
  mute(): void;
  unmute(): void;
  setInbandDtmf(enabled: boolean): void;
  play(audio: Int16Array | PcmSource): QueuedAudio;
  clearQueue(): void;
  sendDtmf(digits: string, durationMs?: number, mode?: DtmfSendMode): Promise<void>;
  /** Call analysis on the received audio, where the media runs (through a worker: its events come in the tick batch). */
  analyse(options: AnalysisOptions, sink: AnalysisSink): AnalysisHandle;
  /** The counters now (through a worker: as of its last tick, at most 20 ms old; final once closed). */
  stats(): RtpSessionStats;
  close(): Promise<void>;
}
