import { checkInt, checkOptions } from './check-option';

export interface JitterBufferOptions {
  /**
   * How many later packets may wait for a missing one (default 3: at 20 ms a packet, a packet may
   * arrive up to three packets, 60 ms, behind its place and still be played in order). 0 plays
   * packets as they come and skips every gap at once.
   */
  depth?: number;
}

export interface JitterBufferStats {
  /** Packets pushed. */
  received: number;
  /** Packets handed out, in order. */
  emitted: number;
  /** Sequence numbers skipped: never arrived before the buffer gave up on them. */
  lost: number;
  /** A second copy of a packet already held or handed out (dropped). */
  duplicates: number;
  /** Arrived after its place was given up (dropped; it was also counted lost). */
  late: number;
  /** Packets that arrived out of order but in time (handed out in order). */
  reordered: number;
  /** Packets far out of sequence that no next packet followed (dropped). */
  strays: number;
  /** The sender's sequence jumped (a restart, a new stream): the buffer followed it. */
  resyncs: number;
  /** Packets waiting now. */
  pending: number;
}

/** A jump beyond this many packets forward (or {@link MAX_MISORDER} back) is not reordering. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** How many recent sequence numbers are remembered to tell a duplicate from a late packet. */
const HISTORY = 128;

/**
 * A small reorder buffer for RTP, keyed by the 16-bit sequence number (with wrap-around).
 *
 * `push()` returns the packets that can be handed out now, in sequence order: the pushed one and
 * any that waited behind it, or nothing while a gap is waited for. A gap is given up (counted lost)
 * when more than `depth` later packets are waiting. Duplicates and late packets are dropped and counted.
 * A jump of the sequence by more than 3000 forward or 100 back is taken for a new stream when the
 * next packet continues it (RFC 3550 A.1 probation): what waited is handed out and the buffer
 * follows the new numbering.
 *
 * The buffer has no clock: at the end of a stream (or during a long silence) call `flush()`.
 */
export class JitterBuffer<T> {
  readonly depth: number;
  /** The sequence number to hand out next; `null` before the first packet. */
  private next: number | null = null;
  private readonly waiting = new Map<number, T>();
  /** `history[seq % HISTORY] === seq` when that packet was handed out. */
  private readonly history = new Int32Array(HISTORY).fill(-1);
  /** A packet far out of sequence, held until the next one tells whether a new stream began. */
  private probation: { seq: number; item: T } | null = null;
  /** The highest sequence number accepted so far (to count reordering). */
  private highest = 0;
  private readonly counts = {
    received: 0,
    emitted: 0,
    lost: 0,
    duplicates: 0,
    late: 0,
    reordered: 0,
    strays: 0,
    resyncs: 0,
  };

  constructor(options?: JitterBufferOptions) {
    const o = checkOptions('JitterBuffer', options);
    this.depth = checkInt('depth', o.depth ?? 3, 0, 64);
  }

  /** Adds a packet; returns what can be handed out now, in order (often just this packet). */
  push(seq: number, item: T): T[] {
    seq &= 0xffff;
    this.counts.received++;
    // The packet expected, nothing waiting (almost every packet): handed out at once, the map untouched
    // (what accept() and drain() would do; at 500 calls, 25 000 packets a second).
    if (seq === this.next && this.waiting.size === 0 && this.probation === null) {
      this.history[seq % HISTORY] = seq;
      this.highest = seq;
      this.counts.emitted++;
      this.next = (seq + 1) & 0xffff;
      return [item];
    }
    const out: T[] = [];
    if (this.next === null) this.next = this.highest = seq;
    const ahead = distance(this.next, seq);
    if (ahead > MAX_DROPOUT || ahead < -MAX_MISORDER) {
      this.onJump(seq, item, out);
      return out;
    }
    if (this.probation) {
      this.counts.strays++;
      this.probation = null;
    }
    this.accept(seq, item, ahead, out);
    return out;
  }

  /** Hands out everything waiting, in order, giving up on the gaps. */
  flush(): T[] {
    const out: T[] = [];
    while (this.waiting.size > 0) this.skipGap(out);
    return out;
  }

  /** Forgets everything (the counters stay). */
  reset(): void {
    this.waiting.clear();
    this.next = null;
    this.probation = null;
    this.history.fill(-1);
  }

  stats(): JitterBufferStats {
    return { ...this.counts, pending: this.waiting.size };
  }

  /** The counters of {@link stats} as they stand, live (not a copy: read them, do not keep or change them). */
  get counters(): Readonly<Omit<JitterBufferStats, 'pending'>> {
    return this.counts;
  }

  /** Hands out the run of packets that starts at `next`. */
  private drain(out: T[]): void {
    for (;;) {
      const seq = this.next as number;
      const item = this.waiting.get(seq);
      if (item === undefined && !this.waiting.has(seq)) return;
      this.waiting.delete(seq);
      this.history[seq % HISTORY] = seq;
      out.push(item as T);
      this.counts.emitted++;
      this.next = (seq + 1) & 0xffff;
    }
  }

  /** Gives up on the missing packets before the oldest waiting one, then drains. */
  private skipGap(out: T[]): void {
    const next = this.next as number;
    let nearest = Infinity;
    for (const seq of this.waiting.keys()) nearest = Math.min(nearest, distance(next, seq));
    this.counts.lost += nearest;
    this.next = (next + nearest) & 0xffff;
    this.drain(out);
  }

  private accept(seq: number, item: T, ahead: number, out: T[]): void {
    if (ahead < 0) {
      if (this.history[seq % HISTORY] === seq) this.counts.duplicates++;
      else this.counts.late++;
      return;
    }
    if (this.waiting.has(seq)) {
      this.counts.duplicates++;
      return;
    }
    if (distance(this.highest, seq) < 0) this.counts.reordered++;
    else this.highest = seq;
    this.waiting.set(seq, item);
    this.drain(out);
    while (this.waiting.size > this.depth) this.skipGap(out);
  }

  /**
   * A packet far from the expected sequence: held on probation. If the next packet follows it, the
   * sender restarted its numbering: hand out what waited and follow the new numbering.
   */
  private onJump(seq: number, item: T, out: T[]): void {
    const held = this.probation;
    this.probation = { seq, item };
    if (!held) return;
    if (((held.seq + 1) & 0xffff) !== seq) {
      this.counts.strays++;
      return;
    }
    this.counts.resyncs++;
    this.probation = null;
    out.push(...this.flush());
    this.history.fill(-1);
    this.next = this.highest = held.seq;
    this.accept(held.seq, held.item, 0, out);
    this.accept(seq, item, 1, out);
  }
}

/** How far `seq` is ahead of `from` (negative: behind), on the 16-bit circle: −32768 to 32767. */
function distance(from: number, seq: number): number {
  return (((seq - from) & 0xffff) << 16) >> 16;
}
