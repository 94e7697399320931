import { EventEmitter } from 'node:events';
import type { Logger } from '../backend';
import { Call, CallTransition } from '../call/call';
import { CallState } from '../call/call-state';
import type { Playback, PlaybackResult } from '../capabilities/audio';
import { settle } from '../media/audio-outcome';
import type { QueuedAudio } from './rtp-session';

/**
 * Samples played into a SIP call: queued on the call's RtpSession, which sends them 20 ms per tick of
 * the shared media clock (real time, no timer of our own). Ends (`end`, once) when the last sample
 * left, on stop(), when the call ends, or when the media closes (the RtpSession resolves the queued
 * audio as stopped then). While the call is on hold or muted the samples are consumed, not sent.
 */
export class SipPlayback extends EventEmitter implements Playback {
  private outcome: Promise<PlaybackResult> | null = null;

  constructor(
    readonly call: Call,
    private readonly queued: QueuedAudio,
    private readonly log: Logger,
    private readonly onSettled: (p: SipPlayback) => void,
  ) {
    super();
    call.on('transition', this.onTransition);
    void queued.done.then(() => this.finish());
    if (call.ended) queued.stop();
  }

  /** Stops it (nothing more is sent) and resolves with what was played. */
  stop(): Promise<PlaybackResult> {
    this.queued.stop();
    return this.finish();
  }

  private readonly onTransition = (t: CallTransition): void => {
    if (t.to === CallState.Ended) this.queued.stop();
  };

  private finish(): Promise<PlaybackResult> {
    if (!this.outcome) {
      this.call.off('transition', this.onTransition);
      const work = this.queued.done.then((r) => {
        this.log.debug(`played ${r.playedMs} ms into call ${this.call.id}${r.stopped ? ' (stopped)' : ''}`);
        return r;
      });
      this.outcome = settle(this, work.finally(() => this.onSettled(this)));
    }
    return this.outcome;
  }
}
