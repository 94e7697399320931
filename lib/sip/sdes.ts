import { randomBytes } from 'node:crypto';
import { printable } from '../validate';
import { SdpNegotiationError } from './sdp-negotiation-error';
import { KEY_SALT_LENGTH, SRTP_SUITES, SrtpSuite } from './srtp';

/**
 * SDES (RFC 4568): the `a=crypto` lines of an SDP, which carry each side's SRTP master key in clear
 * text — which is why the line wants TLS for its signalling (docs/sip-srtp.md).
 *
 *     a=crypto:<tag> <suite> inline:<base64 of 16-byte key ‖ 14-byte salt>[|<lifetime>][|<MKI>:<length>]
 *
 * Read strictly: a line for a suite we support must be exactly that shape (a tag of 1-9 digits, the
 * key 30 bytes of base64, a lifetime of `2^n` or digits); one that is not fails the exchange with a
 * message naming it (488 to an offer). Lines for other suites (AES_256, GCM, F8...), and lines with
 * an MKI, several keys or session parameters (UNENCRYPTED_SRTP, KDR=...) which this line does not
 * implement, are passed over as unsupported, as RFC 4568 §7.1.1 has an answerer do.
 */

/** The `media encryption` line setting: `none` (RTP/AVP), `optional` (best-effort SDES), `required` (RTP/SAVP). */
export type MediaEncryption = 'none' | 'optional' | 'required';
export const MEDIA_ENCRYPTIONS: readonly MediaEncryption[] = ['none', 'optional', 'required'];

/** One usable crypto line. */
export interface SdesCrypto {
  tag: number;
  suite: SrtpSuite;
  /** Master key then master salt, 30 bytes. */
  keySalt: Buffer;
}

/** What a call's SRTP uses once an exchange agreed on a crypto line: our key for what we send, theirs for what we receive. */
export interface SrtpKeys {
  suite: SrtpSuite;
  tag: number;
  local: Buffer;
  remote: Buffer;
}

/** As `sdp-transform` reads `a=crypto` (its grammar: `crypto:(\d*) ([\w_]*) (\S*)(?: (\S*))?`). */
export interface RawCrypto {
  id?: unknown;
  suite?: unknown;
  config?: unknown;
  sessionConfig?: unknown;
}

const BASE64_30 = /^[A-Za-z0-9+/]{40}$/;
const LIFETIME = /^(?:2\^\d{1,2}|\d{1,20})$/;

/** A new random master key and salt for each suite we offer (one key per crypto line: RFC 4568 §6.1). */
export function newLocalKeys(): Map<SrtpSuite, Buffer> {
  return new Map(SRTP_SUITES.map((suite) => [suite, randomBytes(KEY_SALT_LENGTH)]));
}

/** Our `a=crypto` lines for `sdp-transform` (tags 1, 2, ... in our order of preference). */
export function cryptoAttributes(lines: readonly SdesCrypto[]): { id: number; suite: string; config: string }[] {
  return lines.map((c) => ({ id: c.tag, suite: c.suite, config: `inline:${c.keySalt.toString('base64')}` }));
}

/**
 * The usable crypto lines of an `m=` line, in their order. Throws {@link SdpNegotiationError}
 * (`encryption`) when a line for a suite we support is malformed, or two lines share a tag.
 */
export function readCrypto(crypto: { lines: readonly RawCrypto[]; unreadable: readonly string[] }): SdesCrypto[] {
  if (crypto.unreadable.length > 0) {
    throw new SdpNegotiationError(
      `the remote party's SRTP key line "a=${printable(crypto.unreadable[0]).slice(0, 120)}" cannot be read (RFC 4568: a=crypto:<tag> <suite> inline:<key>)`,
      'encryption',
    );
  }
  const usable: SdesCrypto[] = [];
  const tags = new Set<number>();
  for (const line of crypto.lines) {
    const text = `a=crypto:${String(line.id ?? '')} ${String(line.suite ?? '')} ${String(line.config ?? '')}${line.sessionConfig ? ` ${String(line.sessionConfig)}` : ''}`;
    const bad = (why: string): SdpNegotiationError =>
      new SdpNegotiationError(`the remote party's SRTP key line "${printable(text).slice(0, 120)}" cannot be used: ${why}`, 'encryption');
    const tag = typeof line.id === 'number' && Number.isInteger(line.id) && /^\d{1,9}$/.test(String(line.id)) ? line.id : NaN;
    if (Number.isNaN(tag)) throw bad('its tag must be 1 to 9 digits');
    if (tags.has(tag)) throw bad(`tag ${tag} is used twice`);
    tags.add(tag);
    const suite = SRTP_SUITES.find((s) => s === line.suite);
    if (!suite) continue; // a suite we do not implement: passed over
    const params = String(line.config ?? '');
    if (line.sessionConfig !== undefined && line.sessionConfig !== null && line.sessionConfig !== '') continue; // session parameters: not implemented
    if (params.includes(';')) continue; // several keys (each with an MKI): not implemented
    const m = /^inline:([^|]*)((?:\|[^|]*){0,2})$/.exec(params);
    if (!m) throw bad('its key parameter must be inline:<base64 key and salt>[|lifetime][|MKI:length]');
    if (!BASE64_30.test(m[1])) throw bad(`its key must be ${KEY_SALT_LENGTH} bytes (40 characters) of base64`);
    const extras = m[2].split('|').slice(1);
    if (extras.some((e) => e.includes(':'))) continue; // an MKI: not implemented
    if (extras.length > 1 || (extras.length === 1 && !LIFETIME.test(extras[0]))) throw bad('its lifetime must be 2^n or a number of packets');
    usable.push({ tag, suite, keySalt: Buffer.from(m[1], 'base64') });
  }
  return usable;
}
