/**
 * The interarrival jitter of a received RTP stream, as RFC 3550 §6.4.1 defines it (and §A.8 computes
 * it): for each packet the difference D between its arrival spacing and its timestamp spacing with
 * the previous packet, smoothed as J += (|D| − J) / 16. It is what RTCP receiver reports carry and
 * what a PBX's `rtp show stats` shows, so a flow can compare the two.
 *
 * Written by hand: it is the four lines of §A.8; the npm RTP packages that compute it come with
 * their own sockets and sessions.
 */
export class InterarrivalJitter {
  /** J, in timestamp units. */
  private jitter = 0;
  private lastTransit: number | null = null;

  /** @param clockRate the RTP clock of the stream (8000 for G.711). */
  constructor(private readonly clockRate = 8000) {
    if (!Number.isInteger(clockRate) || clockRate <= 0) throw new TypeError(`"clockRate" must be a whole number above 0, got ${String(clockRate)}`);
  }

  /**
   * One packet: when it arrived (ms, any monotonic origin) and its RTP timestamp (32 bits, wrapping).
   */
  push(arrivalMs: number, timestamp: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    // Differences of 32-bit timestamps wrap: only the transit's change matters, taken modulo 2^32.
    const transit = arrival - timestamp;
    if (this.lastTransit !== null) {
      let d = transit - this.lastTransit;
      d = ((((d + 2 ** 31) % 2 ** 32) + 2 ** 32) % 2 ** 32) - 2 ** 31;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** A new stream (another SSRC): its transit times have nothing to do with the old one's. J is kept. */
  restart(): void {
    this.lastTransit = null;
  }

  /** J in milliseconds, rounded to 0.01 ms. */
  get ms(): number {
    return Math.round(((this.jitter * 1000) / this.clockRate) * 100) / 100;
  }
}
