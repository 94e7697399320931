import { checkInt, checkOptions } from './check-option';
import { dtmfKeyToEvent, encodeTelephoneEvent } from './telephone-event';

export const DEFAULT_DTMF_DURATION_MS = 100;
export const MIN_DTMF_DURATION_MS = 40;
export const MAX_DTMF_DURATION_MS = 1000;
/** The dynamic payload type most peers offer for telephone-event. */
export const DEFAULT_TELEPHONE_EVENT_PT = 101;

export interface DtmfSenderOptions {
  /** The negotiated telephone-event payload type, 96–127 (default 101). */
  payloadType?: number;
  /** The event's RTP clock rate (default 8000, as `telephone-event/8000`). */
  clockRate?: number;
  /** The packet interval in ms (default 20). */
  packetMs?: number;
  /** The volume field, in −dBm0 (default 10). */
  volume?: number;
  /** How many times the end packet is sent (default 3, RFC 4733 §2.5.1.4). */
  endPackets?: number;
}

/** One RTP packet of an event: the RTP session adds sequence number and SSRC. */
export interface DtmfPacket {
  marker: boolean;
  payloadType: number;
  /** The event's start: the same for every packet of one event. */
  timestamp: number;
  /** The RFC 4733 payload. */
  payload: Buffer;
  /** The duration field, in clock units. */
  duration: number;
  /** The E bit. */
  end: boolean;
}

/**
 * Builds the RTP packets that send one DTMF key as an RFC 4733 event. The packets are meant to go
 * out one per media clock tick (every `packetMs`), in order, with consecutive sequence numbers:
 *
 * - every packet carries the event's start timestamp; the first one has the marker bit;
 * - the duration field grows by one packet's worth (160 at 8000 Hz and 20 ms) per packet;
 * - the last packet, with the E bit and the whole duration, is sent `endPackets` times (3).
 *
 * A 100 ms key at 8000 Hz: durations 160, 320, 480, 640, then 800 with E, three times.
 */
export class DtmfSender {
  readonly payloadType: number;
  readonly clockRate: number;
  readonly packetMs: number;
  readonly volume: number;
  readonly endPackets: number;

  constructor(options?: DtmfSenderOptions) {
    const o = checkOptions('DtmfSender', options);
    this.payloadType = checkInt('payloadType', o.payloadType ?? DEFAULT_TELEPHONE_EVENT_PT, 96, 127);
    this.clockRate = checkInt('clockRate', o.clockRate ?? 8000, 8000, 48000);
    this.packetMs = checkInt('packetMs', o.packetMs ?? 20, 10, 60);
    this.volume = checkInt('volume', o.volume ?? 10, 0, 63);
    this.endPackets = checkInt('endPackets', o.endPackets ?? 3, 1, 5);
  }

  /** The clock units one packet covers (160 at 8000 Hz and 20 ms). */
  get samplesPerPacket(): number {
    return Math.round((this.clockRate * this.packetMs) / 1000);
  }

  /**
   * The packets of one key. `timestamp` is the RTP timestamp the event starts at (the RTP clock of
   * the moment the first packet goes out). A `TypeError` names a bad digit, duration or timestamp.
   */
  packets(digit: string, timestamp: number, durationMs: number = DEFAULT_DTMF_DURATION_MS): DtmfPacket[] {
    const event = dtmfKeyToEvent(digit);
    if (event === null) throw new TypeError(`"digit" must be one of 0-9, *, #, A-D, got ${JSON.stringify(digit)}`);
    checkInt('timestamp', timestamp, 0, 0xffffffff);
    checkInt('durationMs', durationMs, MIN_DTMF_DURATION_MS, MAX_DTMF_DURATION_MS);
    const total = Math.round((durationMs * this.clockRate) / 1000);
    const step = this.samplesPerPacket;
    const packets: DtmfPacket[] = [];
    const make = (duration: number, end: boolean): DtmfPacket => ({
      marker: packets.length === 0,
      payloadType: this.payloadType,
      timestamp,
      payload: encodeTelephoneEvent({ event, end, volume: this.volume, duration }),
      duration,
      end,
    });
    for (let duration = step; duration < total; duration += step) packets.push(make(duration, false));
    for (let i = 0; i < this.endPackets; i++) packets.push(make(total, true));
    return packets;
  }
}
