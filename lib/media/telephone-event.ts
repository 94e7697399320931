import { checkInt } from './check-option';

/**
 * The RFC 4733 telephone-event payload (DTMF over RTP, formerly RFC 2833):
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Events 0–15 are the DTMF keys `0`–`9`, `*`, `#`, `A`–`D`; volume is the power level in −dBm0
 * (0–63); duration is in units of the RTP clock since the event began (its RTP timestamp).
 */

/** The DTMF keys in event order: the event code of a key is its index here. */
export const DTMF_EVENT_KEYS = '0123456789*#ABCD';

/** The size of one event in the payload. */
export const TELEPHONE_EVENT_SIZE = 4;

export interface TelephoneEvent {
  /** 0–255; 0–15 are DTMF keys. */
  event: number;
  /** The E bit: this packet ends the event. */
  end: boolean;
  /** Power level in −dBm0, 0–63 (10 means −10 dBm0). */
  volume: number;
  /** In RTP clock units since the event's timestamp, 0–65535. */
  duration: number;
}

/** The event code of a DTMF key (`0`–`9`, `*`, `#`, `A`–`D`, case-insensitive), or `null`. */
export function dtmfKeyToEvent(key: string): number | null {
  if (typeof key !== 'string' || key.length !== 1) return null;
  const index = DTMF_EVENT_KEYS.indexOf(key.toUpperCase());
  return index < 0 ? null : index;
}

/** The DTMF key of an event code, or `null` for codes that are not DTMF (16 and above). */
export function eventToDtmfKey(event: number): string | null {
  return Number.isInteger(event) && event >= 0 && event < DTMF_EVENT_KEYS.length ? DTMF_EVENT_KEYS[event] : null;
}

/** Encodes one event (4 bytes). A `TypeError` names a field out of range. */
export function encodeTelephoneEvent(e: TelephoneEvent): Buffer {
  checkInt('event', e.event, 0, 255);
  checkInt('volume', e.volume, 0, 63);
  checkInt('duration', e.duration, 0, 0xffff);
  const out = Buffer.alloc(TELEPHONE_EVENT_SIZE);
  out[0] = e.event;
  out[1] = (e.end ? 0x80 : 0) | e.volume;
  out.writeUInt16BE(e.duration, 2);
  return out;
}

/**
 * Decodes the first event of a payload, or returns `null` when there are fewer than 4 bytes. The
 * reserved R bit is ignored, as RFC 4733 asks. Never throws.
 */
export function decodeTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (!(payload instanceof Uint8Array) || payload.length < TELEPHONE_EVENT_SIZE) return null;
  return {
    event: payload[0],
    end: (payload[1] & 0x80) !== 0,
    volume: payload[1] & 0x3f,
    duration: (payload[2] << 8) | payload[3],
  };
}
