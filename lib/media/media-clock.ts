import { checkInt, checkNumber, checkOptions } from './check-option';

export interface MediaClockOptions {
  /** The tick period, ms (default 20: one G.711 packet). */
  periodMs?: number;
  /** A tick this many ms after its due time counts as late (default 5). */
  lateThresholdMs?: number;
  /**
   * After the event loop was blocked, at most this many overdue ticks are delivered at once
   * (default 5); older ones are skipped (and counted), so a long stall does not end in a burst.
   */
  maxCatchUp?: number;
  /** Called when a subscriber throws (default: a process warning). The clock keeps running. */
  onError?: (err: unknown) => void;
  /**
   * Wake on the tick's due time to the microsecond (default false): the timer is set to fire
   * {@link PRECISE_LEAD_MS} early and the rest is slept with `Atomics.wait`, which blocks the thread.
   * For a media worker, whose thread has nothing else to do just before its tick; never for the
   * flows' thread. Without it a tick comes up to half a millisecond early and, mostly, up to ~1.5 ms
   * late: a timer has whole milliseconds, and libuv counts them from the time its loop last read.
   */
  preciseWake?: boolean;
}

/**
 * How early a precise clock's timer is set, ms: more than a timer's error (whole milliseconds, counted
 * from the loop's last reading of the time, so up to ~1 ms either way), so that the timer fires before
 * the tick is due and the last stretch is slept exactly.
 */
const PRECISE_LEAD_MS = 2;

export interface MediaClockStats {
  running: boolean;
  subscribers: number;
  /** Ticks delivered since the statistics were reset. */
  ticks: number;
  /** Ticks delivered more than `lateThresholdMs` after their due time. */
  late: number;
  /** Ticks never delivered because the event loop was blocked for longer than `maxCatchUp` ticks. */
  skipped: number;
  /** Subscriber calls that threw. */
  errors: number;
  /** How late ticks were delivered (the send jitter), ms. */
  lateness: { p50Ms: number; p99Ms: number; maxMs: number };
}

type Subscriber = (tick: number) => void;

/** Lateness histogram: 0.1 ms buckets up to 100 ms, and one bucket for everything later. */
const BUCKET_MS = 0.1;
const BUCKETS = 1000;

/**
 * ONE periodic clock for all the media of the process (every call's RTP sending, playback and
 * recording), so that N calls cost one timer, not N.
 *
 * Tick k is due at `start + k·period`, measured with `process.hrtime` (monotonic): every wake-up is
 * scheduled against that absolute target, never as "another 20 ms from now", so timer lateness does
 * not add up into drift: after an hour tick 180000 is still due at exactly one hour.
 * Subscribers get the tick's number (periods since the clock started), so a subscriber that sees a
 * jump knows how many periods passed.
 *
 * The clock starts with its first subscriber and stops after its last one unsubscribes.
 */
export class MediaClock {
  readonly periodMs: number;
  private readonly periodNs: bigint;
  private readonly lateNs: bigint;
  private readonly maxCatchUp: number;
  private readonly onError: (err: unknown) => void;
  /** The cell a precise clock sleeps on (nothing ever wakes it: the sleep is its timeout); null without preciseWake. */
  private readonly sleeper: Int32Array | null;
  private readonly subscribers = new Set<{ fn: Subscriber; live: boolean }>();
  /** The subscribers as an array, made again only after one came or went (not every tick). */
  private snapshot: { fn: Subscriber; live: boolean }[] | null = null;
  /** This tick's {@link afterTick} work, run once every subscriber ticked. */
  private after: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private startNs = 0n;
  private nextTick = 0;
  /** Changes on every start and stop, so that a timer callback from an earlier run stops at once. */
  private run = 0;
  private readonly histogram = new Uint32Array(BUCKETS + 1);
  private counts = { ticks: 0, late: 0, skipped: 0, errors: 0, maxNs: 0n };

  constructor(options?: MediaClockOptions) {
    const o = checkOptions('MediaClock', options);
    this.periodMs = checkInt('periodMs', o.periodMs ?? 20, 5, 1000);
    this.periodNs = BigInt(this.periodMs) * 1_000_000n;
    this.lateNs = BigInt(Math.round(checkNumber('lateThresholdMs', o.lateThresholdMs ?? 5, 0, 1000) * 1e6));
    this.maxCatchUp = checkInt('maxCatchUp', o.maxCatchUp ?? 5, 1, 100);
    if (o.onError !== undefined && typeof o.onError !== 'function') throw new TypeError('"onError" must be a function');
    this.onError =
      o.onError ?? ((err) => process.emitWarning(`a media clock subscriber threw: ${String(err)}`, 'MediaClockWarning'));
    if (o.preciseWake !== undefined && typeof o.preciseWake !== 'boolean') throw new TypeError('"preciseWake" must be a boolean');
    this.sleeper = o.preciseWake ? new Int32Array(new SharedArrayBuffer(4)) : null;
  }

  /** Calls `fn` on every tick until the returned function is called. */
  subscribe(fn: Subscriber): () => void {
    if (typeof fn !== 'function') throw new TypeError('"fn" must be a function');
    const entry = { fn, live: true };
    this.subscribers.add(entry);
    this.snapshot = null;
    if (!this.timer) this.start();
    return () => {
      entry.live = false;
      if (!this.subscribers.delete(entry)) return;
      this.snapshot = null;
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /**
   * Runs `fn` once, in this tick, after every subscriber has ticked (in the order asked). What can
   * wait until every call's packet has left goes here, so that the last call's send does not wait for
   * the first calls' recordings (RtpSession's `tx` listeners, the worker's drain). Outside a tick, it
   * runs after the next one's subscribers.
   */
  afterTick(fn: () => void): void {
    this.after.push(fn);
  }

  stats(): MediaClockStats {
    return {
      running: this.timer !== null,
      subscribers: this.subscribers.size,
      ticks: this.counts.ticks,
      late: this.counts.late,
      skipped: this.counts.skipped,
      errors: this.counts.errors,
      lateness: {
        p50Ms: this.percentile(0.5),
        p99Ms: this.percentile(0.99),
        maxMs: Number(this.counts.maxNs) / 1e6,
      },
    };
  }

  resetStats(): void {
    this.histogram.fill(0);
    this.counts = { ticks: 0, late: 0, skipped: 0, errors: 0, maxNs: 0n };
  }

  private start(): void {
    this.run++;
    this.startNs = process.hrtime.bigint();
    this.nextTick = 0;
    this.arm();
  }

  private stop(): void {
    this.run++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sets the timer for the next tick's absolute due time (a precise clock's, {@link PRECISE_LEAD_MS} before it). */
  private arm(): void {
    const waitMs = Number(this.dueNs(this.nextTick) - process.hrtime.bigint()) / 1e6;
    const timeoutMs = this.sleeper ? Math.floor(waitMs - PRECISE_LEAD_MS) : Math.ceil(waitMs - 0.5);
    this.timer = setTimeout(this.onTimer, Math.max(0, timeoutMs));
  }

  private dueNs(tick: number): bigint {
    return this.startNs + BigInt(tick) * this.periodNs;
  }

  private readonly onTimer = (): void => {
    const run = this.run;
    if (this.sleeper) {
      // The timer fired early on purpose: sleep the rest, to the microsecond.
      const restMs = Number(this.dueNs(this.nextTick) - process.hrtime.bigint()) / 1e6;
      if (restMs > 0) Atomics.wait(this.sleeper, 0, 0, restMs);
    }
    const now = process.hrtime.bigint();
    // Ticks due up to half a millisecond from now are delivered now (timers have 1 ms granularity).
    const dueCount = Number((now - this.startNs + 500_000n) / this.periodNs) + 1 - this.nextTick;
    if (dueCount > this.maxCatchUp) {
      this.counts.skipped += dueCount - this.maxCatchUp;
      this.nextTick += dueCount - this.maxCatchUp;
    }
    for (let i = 0; i < Math.min(dueCount, this.maxCatchUp) && run === this.run; i++) {
      const tick = this.nextTick++;
      this.record(now - this.dueNs(tick));
      // The subscribers as the tick began (one added meanwhile starts next tick), one removed meanwhile skipped.
      const entries = (this.snapshot ??= [...this.subscribers]);
      for (const entry of entries) {
        if (!entry.live) continue;
        try {
          entry.fn(tick);
        } catch (err) {
          this.counts.errors++;
          this.onError(err);
        }
      }
      // (An afterTick asked for by an afterTick runs in this tick too.)
      for (let k = 0; k < this.after.length; k++) {
        try {
          this.after[k]();
        } catch (err) {
          this.counts.errors++;
          this.onError(err);
        }
      }
      this.after.length = 0;
    }
    if (run === this.run) this.arm();
  };

  private record(latenessNs: bigint): void {
    const ns = latenessNs > 0n ? latenessNs : 0n;
    this.counts.ticks++;
    if (ns > this.lateNs) this.counts.late++;
    if (ns > this.counts.maxNs) this.counts.maxNs = ns;
    this.histogram[Math.min(BUCKETS, Math.floor(Number(ns) / 1e6 / BUCKET_MS))]++;
  }

  private percentile(p: number): number {
    const total = this.counts.ticks;
    if (total === 0) return 0;
    let seen = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += this.histogram[b];
      if (seen >= p * total) return Math.round((b + 1) * BUCKET_MS * 10) / 10;
    }
    return BUCKETS * BUCKET_MS;
  }
}

/** The clock all calls share. */
export const sharedMediaClock = new MediaClock();
