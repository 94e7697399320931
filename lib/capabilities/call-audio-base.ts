import { EventEmitter } from 'node:events';
import { Call, CallTransition } from '../call/call';
import { CallState } from '../call/call-state';
import { settle } from '../media/audio-outcome';

/**
 * The end of life of audio running on a call (a recording or a playback, either backend): it ends
 * once, however many of stop(), the call's end, a failure and the audio running out ask for it, and
 * that one ending is reported as exactly one `end` or `error` (lib/media/audio-outcome.ts: the
 * Recording / Playback contract of lib/capabilities/audio.ts).
 *
 * A subclass MUST implement {@link run} (what ending means for its backend: stop the media, close or
 * download the file, build the result), {@link settled} (forget it in its owner) and
 * {@link callEnded}; it MUST call {@link watchCall} once it is running, and {@link unwatchCall}
 * itself only when it gives up before it ran (a start that failed: {@link finish} unwatches otherwise).
 * `Why` is what the subclass's result needs to know about why it ended.
 */
export abstract class CallAudioBase<R, Why> extends EventEmitter {
  private outcome: Promise<R> | null = null;
  /** The first failure: {@link run} MUST reject with it when set. */
  protected failure: Error | null = null;

  constructor(readonly call: Call) {
    super();
  }

  /** Ends it with `err` (kept if it is the first); a no-op once it is ending. */
  fail(err: Error): void {
    this.failure ??= err;
    this.end(this.failedWhy());
  }

  /** True from the moment it began to end: nothing more MUST be taken or sent then. */
  protected get ending(): boolean {
    return this.outcome !== null;
  }

  /** Ends it (the first call decides `why`) and resolves with the one outcome of every call. */
  protected finish(why: Why): Promise<R> {
    if (!this.outcome) {
      this.unwatchCall();
      this.outcome = settle(this, this.run(why).finally(() => this.settled()));
    }
    return this.outcome;
  }

  /** {@link finish} where nobody waits for the outcome (it is the `end` / `error` event, and stop()'s). */
  protected end(why: Why): void {
    void this.finish(why).catch(() => undefined);
  }

  /** Starts listening for the call's end ({@link callEnded}). */
  protected watchCall(): void {
    this.call.on('transition', this.onTransition);
  }

  protected unwatchCall(): void {
    this.call.off('transition', this.onTransition);
  }

  /** Does the work of ending and gives the result; rejects with {@link failure} when there is one. */
  protected abstract run(why: Why): Promise<R>;

  /** Called once, when the outcome is known (before `end` / `error`): the owner forgets it. */
  protected abstract settled(): void;

  /** The call ended while it ran. */
  protected abstract callEnded(): void;

  /** The `why` of an ending caused by {@link fail}. */
  protected abstract failedWhy(): Why;

  private readonly onTransition = (t: CallTransition): void => {
    if (t.to === CallState.Ended) this.callEnded();
  };
}
