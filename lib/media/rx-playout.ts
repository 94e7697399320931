import { checkInt, checkOptions } from './check-option';

export interface RxPlayoutOptions {
  /** Samples handed out per tick (default 160: 20 ms at 8 kHz). */
  frameSamples?: number;
  /**
   * How many samples must be waiting before the first frame (and the first after an underrun) is
   * handed out (default 320: two frames). The reserve beyond one frame absorbs network jitter.
   */
  primeSamples?: number;
  /**
   * The most samples kept waiting (default 960: 120 ms). Beyond it the oldest are dropped, so the
   * received leg never lags the sent one by more than this (a burst after a stall, a sender whose
   * clock runs faster than ours).
   */
  maxBacklogSamples?: number;
}

export interface RxPlayoutStats {
  /** Samples received (pushed). */
  received: number;
  /** Samples dropped because the backlog was full. */
  dropped: number;
  /** Frames handed out as silence: nothing (or not enough) had arrived, or it was priming. */
  silentFrames: number;
  /** Times the backlog ran dry with audio flowing (a lost or late packet, the end of a talkspurt). */
  underruns: number;
}

/**
 * Lines up the audio a call receives with the clock that sends ours, for recordings that keep both
 * legs (mixed or stereo) and must not drift apart over a long call.
 *
 * We hand received samples in as they arrive ({@link push}: packets come in bursts, late, or not at
 * all); the steady 20 ms media clock that sends our audio takes exactly one frame per tick
 * ({@link take}). So the recording advances at the pace of OUR clock, one frame of each leg per tick:
 * the legs cannot drift, whatever the sender's clock does. The received leg is played out with a
 * small reserve (`primeSamples`), like a jitter buffer:
 *
 * - nothing waiting (loss, hold, silence suppression, a late packet): that frame is silence, and the
 *   next frames are silence too until the reserve has built up again (an underrun);
 * - more than `maxBacklogSamples` waiting: the oldest are dropped (counted), so the received leg lags
 *   the sent one by at most that much.
 *
 * Pure: no timers, no sockets. Input arrays are copied (they may be pooled, lib/media/int16-pool.ts).
 */
export class RxPlayout {
  readonly frameSamples: number;
  readonly primeSamples: number;
  readonly maxBacklogSamples: number;
  private readonly ring: Int16Array;
  private read = 0;
  private level = 0;
  private priming = true;
  private readonly counts: RxPlayoutStats = { received: 0, dropped: 0, silentFrames: 0, underruns: 0 };

  constructor(options?: RxPlayoutOptions) {
    const o = checkOptions('RxPlayout', options);
    this.frameSamples = checkInt('frameSamples', o.frameSamples ?? 160, 1, 8000);
    this.primeSamples = checkInt('primeSamples', o.primeSamples ?? 2 * this.frameSamples, this.frameSamples, 80_000);
    this.maxBacklogSamples = checkInt('maxBacklogSamples', o.maxBacklogSamples ?? 6 * this.frameSamples, this.primeSamples, 80_000);
    this.ring = new Int16Array(this.maxBacklogSamples);
  }

  /** Samples waiting to be taken. */
  get backlog(): number {
    return this.level;
  }

  stats(): RxPlayoutStats {
    return { ...this.counts };
  }

  /** Received samples, in order (copied). */
  push(samples: Int16Array): void {
    this.counts.received += samples.length;
    let from = 0;
    // More than the whole ring at once: only its newest part can be kept.
    if (samples.length > this.ring.length) {
      from = samples.length - this.ring.length;
      this.counts.dropped += from;
    }
    const overflow = this.level + (samples.length - from) - this.ring.length;
    if (overflow > 0) {
      this.read = (this.read + overflow) % this.ring.length;
      this.level -= overflow;
      this.counts.dropped += overflow;
    }
    let write = (this.read + this.level) % this.ring.length;
    // (Whole, when it fits before the ring's end: no view made, 50 times a second per call.)
    if (from === 0 && write + samples.length <= this.ring.length) {
      this.ring.set(samples, write);
      this.level += samples.length;
      return;
    }
    while (from < samples.length) {
      const n = Math.min(samples.length - from, this.ring.length - write);
      this.ring.set(samples.subarray(from, from + n), write);
      from += n;
      this.level += n;
      write = (write + n) % this.ring.length;
    }
  }

  /**
   * One tick's frame of the received leg: the oldest waiting samples, or silence. In a new array, or
   * written into `out` (`frameSamples` long) when given: a recording keeps one for the whole call.
   */
  take(out: Int16Array = new Int16Array(this.frameSamples)): Int16Array {
    if (out.length !== this.frameSamples) throw new RangeError(`RxPlayout.take: "out" must hold ${this.frameSamples} samples`);
    if (this.priming && this.level >= this.primeSamples) this.priming = false;
    if (!this.priming && this.level < this.frameSamples) {
      this.priming = true;
      this.counts.underruns++;
    }
    if (this.priming) {
      this.counts.silentFrames++;
      return out.fill(0);
    }
    // Sample by sample (no view of the ring made per tick), wrapping at its end.
    const ring = this.ring;
    let read = this.read;
    for (let at = 0; at < this.frameSamples; at++) {
      out[at] = ring[read];
      if (++read === ring.length) read = 0;
    }
    this.read = read;
    this.level -= this.frameSamples;
    return out;
  }
}
