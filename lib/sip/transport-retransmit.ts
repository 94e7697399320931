/**
 * The retransmissions RFC 3261 §17 asks of a transaction layer over an unreliable transport, which
 * sip.js 0.21.2 leaves out (its transactions assume a reliable WebSocket):
 * - Timer A/E: a request is re-sent at T1, 2·T1, 4·T1... (non-INVITE capped at T2; at T2 once a
 *   provisional response came) until a response arrives or 64·T1 passed
 *   (node_modules/sip.js/lib/core/transactions/invite-client-transaction.js:34 "Timer A ... not
 *   implemented", non-invite-client-transaction.js:26 "Timer E ... not implemented");
 * - Timer G: a non-2xx final response to an INVITE is re-sent until the ACK comes
 *   (invite-server-transaction.js:277 "Missing timer G");
 * - Timer J/K: sip.js forgets a non-INVITE server transaction as soon as it answered (Timer J is 0 in
 *   core/timers.js), so a retransmitted request (our answer was lost) would be taken as new: the last
 *   final response is kept for 64·T1 and re-sent instead.
 * (2xx responses to INVITE are re-sent by sip.js itself until the ACK: session-dialog.js:805.)
 *
 * The UDP transport feeds every message it sends and receives through here. Keyed by the top Via
 * branch and the CSeq method, like the transactions themselves.
 */
import { MessagePeek, transactionKey } from './transport-message';

export interface RetransmitTimers {
  /** RFC 3261 T1, the round-trip estimate. Default 500 ms. */
  t1Ms: number;
  /** RFC 3261 T2, the longest interval between non-INVITE retransmissions. Default 4 s. */
  t2Ms: number;
}

export const RFC3261_TIMERS: RetransmitTimers = { t1Ms: 500, t2Ms: 4000 };

export interface Destination {
  host: string;
  port: number;
}

type Resend = (bytes: Buffer, to: Destination) => void;

interface Pending {
  bytes: Buffer;
  to: Destination;
  interval: number;
  /** INVITE intervals double without cap; others are capped at T2. */
  capped: boolean;
  timer: NodeJS.Timeout;
  giveUp: NodeJS.Timeout;
}

interface Answered {
  bytes: Buffer;
  to: Destination;
  expiry: NodeJS.Timeout;
}

export class UdpRetransmitter {
  /** Our requests waiting for a response (client side). */
  private readonly requests = new Map<string, Pending>();
  /** Our non-2xx final responses to INVITEs waiting for the ACK (server side, Timer G). */
  private readonly unacked = new Map<string, Pending>();
  /** Our last final responses, re-sent when the request comes again (Timer J). */
  private readonly answered = new Map<string, Answered>();

  constructor(
    private readonly resend: Resend,
    private readonly timers: RetransmitTimers = RFC3261_TIMERS,
  ) {}

  /** Counts, for tests and the benchmark. */
  get pending(): { requests: number; unacked: number; answered: number } {
    return { requests: this.requests.size, unacked: this.unacked.size, answered: this.answered.size };
  }

  /** We sent a message. */
  sent(peek: MessagePeek, bytes: Buffer, to: Destination): void {
    const key = transactionKey(peek);
    if (!key) return;
    if (peek.kind === 'request') {
      if (peek.method === 'ACK') return; // ACK is never retransmitted on its own
      this.track(this.requests, key, bytes, to, peek.method !== 'INVITE');
      return;
    }
    const status = peek.status ?? 0;
    if (status < 200) return;
    if (peek.cseqMethod === 'INVITE') {
      if (status >= 300) {
        this.track(this.unacked, key, bytes, to, true);
        this.remember(key, bytes, to);
      }
      return;
    }
    this.remember(key, bytes, to);
  }

  /**
   * We received a message. Returns false when it was a retransmission answered here (it must not reach
   * sip.js), true when it must be delivered.
   */
  received(peek: MessagePeek): boolean {
    const key = transactionKey(peek);
    if (!key) return true;
    if (peek.kind === 'response') {
      const pending = this.requests.get(key);
      if (pending) {
        const status = peek.status ?? 0;
        if (status >= 200 || peek.cseqMethod === 'INVITE') this.stop(this.requests, key);
        else if (pending.capped && pending.interval < this.timers.t2Ms) {
          // A provisional response to a non-INVITE: keep re-sending, every T2 (RFC 3261 §17.1.2.2).
          pending.interval = this.timers.t2Ms;
          clearTimeout(pending.timer);
          pending.timer = this.schedule(this.requests, key, pending);
        }
      }
      return true;
    }
    if (peek.method === 'ACK') {
      // The ACK of a non-2xx final carries the INVITE's branch.
      const invite = `${key.slice(0, key.lastIndexOf(' '))} INVITE`;
      this.stop(this.unacked, invite);
      return true;
    }
    const answer = this.answered.get(key);
    if (answer) {
      this.resend(answer.bytes, answer.to);
      return false;
    }
    return true;
  }

  /** Forgets everything (the transport closed). */
  clear(): void {
    for (const map of [this.requests, this.unacked]) {
      for (const p of map.values()) {
        clearTimeout(p.timer);
        clearTimeout(p.giveUp);
      }
      map.clear();
    }
    for (const a of this.answered.values()) clearTimeout(a.expiry);
    this.answered.clear();
  }

  private track(map: Map<string, Pending>, key: string, bytes: Buffer, to: Destination, capped: boolean): void {
    this.stop(map, key);
    const pending: Pending = { bytes, to, interval: this.timers.t1Ms, capped, timer: undefined as unknown as NodeJS.Timeout, giveUp: undefined as unknown as NodeJS.Timeout };
    pending.timer = this.schedule(map, key, pending);
    pending.giveUp = setTimeout(() => this.stop(map, key), 64 * this.timers.t1Ms);
    pending.giveUp.unref();
    map.set(key, pending);
  }

  private schedule(map: Map<string, Pending>, key: string, pending: Pending): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (map.get(key) !== pending) return;
      this.resend(pending.bytes, pending.to);
      pending.interval = pending.capped ? Math.min(pending.interval * 2, this.timers.t2Ms) : pending.interval * 2;
      pending.timer = this.schedule(map, key, pending);
    }, pending.interval);
    timer.unref();
    return timer;
  }

  private stop(map: Map<string, Pending>, key: string): void {
    const pending = map.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    clearTimeout(pending.giveUp);
    map.delete(key);
  }

  private remember(key: string, bytes: Buffer, to: Destination): void {
    const old = this.answered.get(key);
    if (old) clearTimeout(old.expiry);
    const expiry = setTimeout(() => {
      if (this.answered.get(key)?.expiry === expiry) this.answered.delete(key);
    }, 64 * this.timers.t1Ms);
    expiry.unref();
    this.answered.set(key, { bytes, to, expiry });
  }
}
