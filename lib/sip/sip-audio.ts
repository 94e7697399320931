import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { AudioCapability, Playback, Recording, RecordingOptions } from '../capabilities/audio';
import { CallStateError, InvalidInputError, NotSupportedError } from '../errors';
import type { PcmSource } from '../media/pcm-source';
import type { RtpMedia } from '../media-engine/rtp-media';
import type { SipCallContext, SipCallFeature } from './sip-call-context';
import { SipPlayback } from './sip-playback';
import { SipRecording } from './sip-recording';

/** What the SIP audio feature needs of the backend: a call's media, a log, the line's name. */
export type SipAudioContext = Pick<SipCallContext, 'rtpOf' | 'description' | 'log'>;

/**
 * Call audio on a SIP line (the `audio` capability), from the call's RtpSession (lib/sip/rtp-session.ts):
 * recordings ({@link SipRecording}: WAV files written as they grow, streams of chunks, rx / tx / both
 * mixed / stereo) and playback ({@link SipPlayback}: the RtpSession's send queue). The line-level
 * queue, stop and barge-in are backend-neutral (lib/line/line-audio.ts). See docs/audio.md.
 */
export class SipAudio implements AudioCapability, SipCallFeature {
  readonly name = 'audio';
  private readonly recordings = new Set<SipRecording>();
  private readonly playbacks = new Set<SipPlayback>();

  constructor(private readonly ctx: SipAudioContext) {}

  /**
   * Records a connected call, or an outgoing call's early media (the same RtpSession goes on once it
   * is answered): WAV only (AMR is a NotSupportedError; nothing here encodes it), any
   * direction, mono or two channels.
   */
  async record(call: Call, options: RecordingOptions): Promise<Recording> {
    if (options.file !== undefined && options.format !== 'wav') {
      throw new NotSupportedError(
        `recording in ${String(options.format).toUpperCase()} is not supported on a SIP line (${this.ctx.description()}): it records WAV (16-bit PCM, 8 kHz)`,
      );
    }
    if (options.channels === 2 && options.direction !== 'both') {
      throw new InvalidInputError(`2 channels hold one leg each (left rx, right tx): the direction must be both, got ${options.direction}`);
    }
    const rtp = this.mediaOf(call, 'recorded', [CallState.Active, CallState.EarlyMedia]);
    const rec = new SipRecording(call, options, { rtp, log: this.ctx.log, onSettled: (r) => this.recordings.delete(r) });
    this.recordings.add(rec);
    await rec.start();
    return rec;
  }

  /** Plays 8 kHz samples into a connected call, after anything queued on its media. */
  async play(call: Call, pcm: PcmSource): Promise<Playback> {
    const rtp = this.mediaOf(call, 'played into', [CallState.Active]);
    const playback = new SipPlayback(call, rtp.play(pcm), this.ctx.log, (p) => this.playbacks.delete(p));
    this.playbacks.add(playback);
    return playback;
  }

  /** The line stops (before its calls are hung up): recordings end (`stop`), playbacks stop. */
  async stop(): Promise<void> {
    await Promise.all([
      ...[...this.recordings].map((r) => r.stop().catch(() => undefined)),
      ...[...this.playbacks].map((p) => p.stop().catch(() => undefined)),
    ]);
  }

  private mediaOf(call: Call, what: string, states: readonly CallState[]): RtpMedia {
    if (!states.includes(call.state)) {
      const which = states.length > 1 ? 'a connected call, or one in early media,' : 'a connected call';
      throw new CallStateError(`call ${call.id} is ${call.state}: only ${which} can be ${what}`);
    }
    const rtp = this.ctx.rtpOf(call);
    if (!rtp || rtp.closed) throw new CallStateError(`call ${call.id} has no media (${this.ctx.description()}): it cannot be ${what}`);
    return rtp;
  }
}
