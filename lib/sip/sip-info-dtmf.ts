import { isDtmfSymbol } from '../capabilities/dtmf';
import { eventToDtmfKey } from '../media/telephone-event';

/**
 * DTMF in SIP INFO bodies (the "legacy" INFO usage of RFC 6086 §2: no Info-Package), as pure
 * functions: what we send, and what we make of what a peer sends. See docs/dtmf.md, "SIP".
 *
 * Two bodies are in use, neither standardised by the IETF:
 *
 * - `application/dtmf-relay` (Cisco's, the one Asterisk, FreeSWITCH, Kamailio-fronted PBXs and most
 *   phones send): lines of `Key=Value`, `Signal=5` and `Duration=160` (ms), CRLF-separated.
 * - `application/dtmf` (older phones and some gateways): the body is the key itself, `5`.
 *
 * In both, some senders give the key as its RFC 4733 event number rather than the symbol: `10` for
 * `*`, `11` for `#`, `12`-`15` for A-D, `16` for a hook flash. Asterisk's chan_sip (handle_request_info)
 * accepts exactly that, in both bodies, so we do the same: a symbol (0-9 * # A-D, a-d), or a number
 * 0-16 read as an event. A flash (`16`, or `!` as Asterisk writes it) is understood and answered 200
 * but is no DTMF key, so it is not reported.
 */

export const DTMF_RELAY_CONTENT_TYPE = 'application/dtmf-relay';
export const DTMF_CONTENT_TYPE = 'application/dtmf';
/** The INFO bodies we read, for the `Accept` header of a 415. */
export const INFO_DTMF_CONTENT_TYPES: readonly string[] = [DTMF_RELAY_CONTENT_TYPE, DTMF_CONTENT_TYPE];

/** A DTMF body longer than this is not a DTMF body (the largest real one is about 30 bytes). */
export const MAX_INFO_DTMF_BODY = 512;

/** The RFC 4733 event number of a hook flash. */
const FLASH_EVENT = 16;

/** What an INFO we received says, and how to answer it. */
export type InfoDtmfReading =
  /** Answer 200. `digit` is the key to report, or `null` (an INFO without a body, a hook flash). */
  | { statusCode: 200; digit: string | null; durationMs?: number; note?: string }
  /** Answer 415 (another content type; send `Accept`) or 400 (a DTMF body we cannot read). */
  | { statusCode: 400 | 415; problem: string };

/**
 * The body of the INFO that sends one key: `Signal=<key>\r\nDuration=<ms>\r\n` as
 * `application/dtmf-relay` (Asterisk's own form, which every receiver we know reads). `digit` MUST be
 * one DTMF symbol (upper case) and `durationMs` a whole number 1–10000: anything else throws a
 * TypeError, so nothing unchecked can reach a SIP message.
 */
export function formatDtmfRelay(digit: string, durationMs: number): { contentType: string; content: string } {
  if (!isDtmfSymbol(digit)) throw new TypeError(`"digit" must be one DTMF key (0-9, *, #, A-D), got ${JSON.stringify(digit)}`);
  if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs > 10_000) {
    throw new TypeError(`"durationMs" must be a whole number of milliseconds (1-10000), got ${String(durationMs)}`);
  }
  return { contentType: DTMF_RELAY_CONTENT_TYPE, content: `Signal=${digit}\r\nDuration=${durationMs}\r\n` };
}

/**
 * Reads a received INFO: its `Content-Type` header value (parameters and case ignored; `undefined`
 * when there is none) and its body. Never throws, whatever the input.
 *
 * - no body at all (and no content type): a keep-alive some PBXs send → 200, no key;
 * - `application/dtmf-relay`: the `Signal` line is required (keys are case-insensitive, spaces
 *   around `=` allowed, lines that are not `key=value` ignored); `Duration` is optional and ignored
 *   when it is not a number;
 * - `application/dtmf`: the body, trimmed, is one key;
 * - any other content type → 415; a DTMF body without a key we can read → 400.
 */
export function parseInfoDtmf(contentTypeHeader: string | undefined, body: string | undefined): InfoDtmfReading {
  const content = typeof body === 'string' ? body : '';
  const contentType = typeof contentTypeHeader === 'string' ? contentTypeHeader.split(';')[0].trim().toLowerCase() : '';
  if (contentType === '' && content.trim() === '') return { statusCode: 200, digit: null, note: 'an INFO without a body' };
  if (contentType !== DTMF_RELAY_CONTENT_TYPE && contentType !== DTMF_CONTENT_TYPE) {
    return { statusCode: 415, problem: `an INFO body of type "${printableType(contentType)}" is not DTMF` };
  }
  if (content.length > MAX_INFO_DTMF_BODY) return { statusCode: 400, problem: `a ${contentType} body of ${content.length} bytes is too long` };
  let signal: string | undefined;
  let durationMs: number | undefined;
  if (contentType === DTMF_CONTENT_TYPE) {
    signal = content.trim();
  } else {
    for (const line of content.split(/\r\n|\r|\n/)) {
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim().toLowerCase();
      const value = line.slice(eq + 1).trim();
      if (key === 'signal' && signal === undefined) signal = value;
      else if (key === 'duration' && /^\d{1,6}$/.test(value)) durationMs = Number(value);
    }
    if (signal === undefined) return { statusCode: 400, problem: `the ${contentType} body has no Signal line` };
  }
  const key = readKey(signal);
  if (key === null) return { statusCode: 400, problem: `the ${contentType} body holds no DTMF key` };
  const duration = durationMs === undefined ? {} : { durationMs };
  if (key === 'flash') return { statusCode: 200, digit: null, ...duration, note: 'a hook flash (no DTMF key)' };
  return { statusCode: 200, digit: key, ...duration };
}

/** One key: a DTMF symbol (a-d accepted), an RFC 4733 event number 0-16 (16: flash), `!` (flash), else null. */
function readKey(value: string): string | null {
  if (value.length === 1 && isDtmfSymbol(value.toUpperCase())) return value.toUpperCase();
  if (value === '!') return 'flash';
  if (/^\d{1,2}$/.test(value)) {
    const event = Number(value);
    if (event === FLASH_EVENT) return 'flash';
    return eventToDtmfKey(event);
  }
  return null;
}

/** A content type for a log line or a reason: only the characters a media type may hold, at most 60. */
function printableType(value: string): string {
  return value === '' ? '(none)' : value.replace(/[^a-z0-9!#$&^_.+\-/]/g, '?').slice(0, 60);
}
