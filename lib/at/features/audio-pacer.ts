import { EventEmitter } from 'node:events';
import { PcmSource, toPcmSource } from '../../media/pcm-source';

/** A periodic clock (lib/media's MediaClock): tick numbers count periods since it started. */
export interface TickClock {
  readonly periodMs: number;
  subscribe(fn: (tick: number) => void): () => void;
}

const SAMPLE_RATE = 8000;

/**
 * Writes 8 kHz samples (an array, or a PcmSource read from a file as it plays) at real-time pace on ONE shared clock: a playback does not run a timer of its
 * own, and never drifts, because what is due is worked out from tick numbers (periods since the
 * first tick), not by adding up timer callbacks: a late or skipped tick is made up by the next one.
 * `leadMs` of audio is written ahead, so that the module never waits for us (default 40 ms).
 *
 * Events: `done` once the whole source has been written and its time has passed.
 */
export class PcmPacer extends EventEmitter {
  private readonly perTick: number;
  private readonly lead: number;
  private first: number | null = null;
  private sent = 0;
  private elapsed = 0;
  private unsubscribe: (() => void) | null = null;
  private readonly source: PcmSource;

  constructor(
    pcm: Int16Array | PcmSource,
    private readonly write: (samples: Int16Array) => void,
    private readonly clock: TickClock,
    leadMs = 40,
  ) {
    super();
    this.source = toPcmSource(pcm);
    this.perTick = (clock.periodMs * SAMPLE_RATE) / 1000;
    this.lead = Math.round((leadMs * SAMPLE_RATE) / 1000);
  }

  /** Milliseconds of the source played (its time has passed) so far. */
  get playedMs(): number {
    return Math.round((Math.min(this.elapsed, this.sent, this.source.length) * 1000) / SAMPLE_RATE);
  }

  /** Samples written to the port so far (the played part and the lead). */
  get writtenSamples(): number {
    return this.sent;
  }

  get running(): boolean {
    return this.unsubscribe !== null;
  }

  start(): void {
    if (this.unsubscribe || this.first !== null) return;
    this.unsubscribe = this.clock.subscribe(this.onTick);
  }

  /** Stops writing (what was written stays written). */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private readonly onTick = (tick: number): void => {
    if (this.first === null) this.first = tick;
    this.elapsed = (tick - this.first) * this.perTick;
    const due = Math.min(this.source.length, this.elapsed + this.lead);
    if (due > this.sent) {
      // A file source whose reader is behind gives less (even nothing): the rest goes on a later tick.
      const slice = this.source.take(due - this.sent);
      this.sent += slice.length;
      if (slice.length > 0) this.write(slice);
    }
    if (this.sent >= this.source.length && this.elapsed >= this.source.length) {
      this.stop();
      this.emit('done');
    }
  };
}
