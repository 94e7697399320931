import type { Logger } from '../backend';
import type { Call } from '../call/call';
import type { Playback, PlaybackResult } from '../capabilities/audio';
import { CallAudioBase } from '../capabilities/call-audio-base';
import type { QueuedAudio } from './rtp-session';

/**
 * Samples played into a SIP call: queued on the call's RtpSession, which sends them 20 ms per tick of
 * the shared media clock (real time, no timer of our own). Ends (`end`, once) when the last sample
 * left, on stop(), when the call ends, or when the media closes (the RtpSession resolves the queued
 * audio as stopped then). While the call is on hold or muted the samples are consumed, not sent.
 *
 * How it ends once is shared with the AT playback (lib/capabilities/call-audio-base.ts); here every
 * ending waits for the queue, which alone knows what was played and whether it was cut short, so
 * `why` carries nothing and whatever ends it stops the queue first.
 */
export class SipPlayback extends CallAudioBase<PlaybackResult, void> implements Playback {
  constructor(
    call: Call,
    private readonly queued: QueuedAudio,
    private readonly log: Logger,
    private readonly onSettled: (p: SipPlayback) => void,
  ) {
    super(call);
    this.watchCall();
    void queued.done.then(() => this.end());
    if (call.ended) queued.stop();
  }

  /** Stops it (nothing more is sent) and resolves with what was played. */
  stop(): Promise<PlaybackResult> {
    this.queued.stop();
    return this.finish();
  }

  /** Ends it with `err`: the queue is stopped, so that the ending has what was played. */
  override fail(err: Error): void {
    this.queued.stop();
    super.fail(err);
  }

  protected callEnded(): void {
    this.queued.stop();
  }

  protected failedWhy(): void {
    return undefined;
  }

  protected settled(): void {
    this.onSettled(this);
  }

  protected async run(): Promise<PlaybackResult> {
    const r = await this.queued.done;
    this.log.debug(`played ${r.playedMs} ms into call ${this.call.id}${r.stopped ? ' (stopped)' : ''}`);
    if (this.failure) throw this.failure;
    return r;
  }
}
