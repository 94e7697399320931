import { EventEmitter } from 'node:events';
import { checkInt, checkOptions } from './check-option';
import { decodeTelephoneEvent, eventToDtmfKey } from './telephone-event';

export interface DtmfReceiverOptions {
  /** The event's RTP clock rate (default 8000), to turn durations into ms. */
  clockRate?: number;
  /** How many recent events are remembered to recognise their late packets (default 32). */
  memory?: number;
}

/** A DTMF key, reported once, from the first packet of its event that arrived. */
export interface DtmfDigitEvent {
  digit: string;
  /** The RFC 4733 event code (0–15). */
  event: number;
  /** The event's RTP timestamp (its identity). */
  timestamp: number;
  /** The sequence number of the packet that revealed it. */
  seq: number;
  /** In −dBm0. */
  volume: number;
}

/** The end of a key's event, reported once, from the first end packet that arrived. */
export interface DtmfDigitEndEvent {
  digit: string;
  event: number;
  timestamp: number;
  /** From the end packet's duration field. */
  durationMs: number;
}

export interface DtmfReceiverEvents {
  digit: [DtmfDigitEvent];
  'digit-end': [DtmfDigitEndEvent];
}

interface Seen {
  event: number;
  ended: boolean;
}

/**
 * Turns received RFC 4733 packets into ONE `digit` per key press, whatever the network did to them.
 *
 * An event is identified by its RTP timestamp (RFC 4733 §2.5.1.2: every packet of one event carries
 * the event's start time), together with its code. The first packet of an event that arrives (the
 * marker packet, or any later one if that was lost, or even an end packet) emits `digit`; every
 * other packet of that event (updates, the three end packets, retransmissions, reordered or late
 * ones) emits nothing more, except that the first end packet emits `digit-end` with the duration.
 * Only the last `memory` events are remembered, so memory stays bounded on a long call.
 *
 * Events above 15 (tones other than DTMF) and payloads shorter than 4 bytes are ignored.
 */
export class DtmfReceiver extends EventEmitter<DtmfReceiverEvents> {
  readonly clockRate: number;
  private readonly memory: number;
  /** Insertion order is age: the first key is the oldest event. */
  private readonly seen = new Map<string, Seen>();

  constructor(options?: DtmfReceiverOptions) {
    super();
    const o = checkOptions('DtmfReceiver', options);
    this.clockRate = checkInt('clockRate', o.clockRate ?? 8000, 8000, 48000);
    this.memory = checkInt('memory', o.memory ?? 32, 1, 1024);
  }

  /** Feeds one received telephone-event packet. Never throws on what came from the network. */
  push(timestamp: number, seq: number, payload: Uint8Array): void {
    const e = decodeTelephoneEvent(payload);
    if (!e) return;
    const key = eventToDtmfKey(e.event);
    if (key === null) return;
    const id = `${timestamp >>> 0}:${e.event}`;
    let seen = this.seen.get(id);
    if (!seen) {
      seen = { event: e.event, ended: false };
      this.seen.set(id, seen);
      if (this.seen.size > this.memory) this.seen.delete(this.seen.keys().next().value as string);
      this.emit('digit', { digit: key, event: e.event, timestamp: timestamp >>> 0, seq, volume: e.volume });
    }
    if (e.end && !seen.ended) {
      seen.ended = true;
      this.emit('digit-end', {
        digit: key,
        event: e.event,
        timestamp: timestamp >>> 0,
        durationMs: Math.round((e.duration * 1000) / this.clockRate),
      });
    }
  }

  /** Forgets every event (a new SSRC, a re-INVITE that restarts the stream). */
  reset(): void {
    this.seen.clear();
  }
}
