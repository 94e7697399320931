/**
 * Whom a SIP line calls (dial, divert, transfer) and how its caller ID is written: one place that
 * reads what a flow gives and one that turns it into the SIP URI that goes into the Request-URI, To,
 * Contact or Refer-To (docs/sip-backend.md, "Targets").
 *
 * Accepted on a SIP line:
 * - a phone number (`5551234`, `+49 30 123456`, service codes `*21*0800#`, `#31#1234`):
 *   `sip:<number>@<host>`; an E.164 number (leading `+`) adds `;user=phone` (RFC 3261 §19.1.6);
 * - a bare user or extension (`bob`, `alice.smith`, `*97` is a number already): `sip:<user>@<host>`;
 * - `user@host[:port]`: taken as `sip:user@host[:port]`;
 * - a `sip:` / `sips:` address, as given;
 * - a `tel:` URI (RFC 3966): global `tel:+49-30-123456` or local `tel:1234;phone-context=example.com`
 *   → `sip:<number>[;tel params]@<host>;user=phone` (RFC 3261 §19.1.6), visual separators removed.
 *
 * `<host>` is the line's domain, else its server's host[:port]. Nothing here lets a CR, LF, space,
 * quote, `<`, `>`, `,` or `?headers` through: every form is matched whole against a strict pattern.
 */
import { Grammar, URI } from 'sip.js';
import { InvalidInputError } from '../errors';
import { describe, MAX_SIP_TARGET_LENGTH, printable, validateCallTarget, validatePhoneNumber } from '../validate';

/** What the target is, once read: the canonical text is what {@link sipTargetUri} takes. */
export type SipTargetKind = 'number' | 'user' | 'sip' | 'tel';

/** A bare user or extension: RFC 3261 `unreserved` and the user-unreserved marks that cannot start params or headers. */
const BARE_USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$]{1,64}$/;

/**
 * RFC 3966 `telephone-subscriber`, the parts we accept: a global number (`+` digits, visual
 * separators `-.()`) or a local one (hex digits, `*`, `#`, separators), then `;name[=value]` params
 * whose values hold no `;`, `?`, `@`, `:`, `,`, quotes, brackets or spaces.
 */
const TEL_RE = /^tel:(\+[0-9().-]*[0-9][0-9().-]*|[0-9A-Fa-f*#().-]*[0-9A-Fa-f*#][0-9A-Fa-f*#().-]*)((?:;[A-Za-z0-9-]{1,32}(?:=[A-Za-z0-9\-_.!~*'()%+]{1,128})?)*)$/i;
/** `phone-context`: a domain name or a global number prefix (RFC 3966 §5.1.5). */
const PHONE_CONTEXT_RE = /^(?:\+[0-9().-]*[0-9][0-9().-]*|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)$/;
const VISUAL_SEPARATORS = /[().-]/g;

/** What a flow may dial on a SIP line, in words (the error says what IS accepted). */
export const SIP_TARGET_FORMS =
  'an extension or user (bob, 1001, *97), a phone number (+4930123456, digits * and #), a SIP address (sip:bob@example.com or bob@example.com) or a tel: URI (tel:+4930123456, tel:1234;phone-context=example.com)';

export interface ParsedTelUri {
  /** The number without visual separators: `+4930123456`, `1234`. */
  number: string;
  /** Its params, names in lower case, in the order given (`phone-context` separators removed from a global prefix). */
  params: Array<[string, string | undefined]>;
  global: boolean;
}

/** Reads an RFC 3966 `tel:` URI, or throws {@link InvalidInputError} naming `what`. */
export function parseTelUri(text: string, what = 'phone number'): ParsedTelUri {
  const m = TEL_RE.exec(text);
  const bad = (why: string): InvalidInputError =>
    new InvalidInputError(`the ${what} "${printable(text)}" is not a valid tel: URI (RFC 3966): ${why}`);
  if (!m) throw bad('write tel:+<country code><number> or tel:<local number>;phone-context=<domain or +prefix>, without spaces or quotes');
  const number = m[1].replace(VISUAL_SEPARATORS, '');
  const global = number.startsWith('+');
  const params: Array<[string, string | undefined]> = [];
  for (const part of m[2].split(';').slice(1)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    let value = eq < 0 ? undefined : part.slice(eq + 1);
    if (params.some(([n]) => n === name)) throw bad(`the parameter ${name} is given twice`);
    if (name === 'phone-context') {
      if (!value || !PHONE_CONTEXT_RE.test(value)) throw bad('phone-context must be a domain name or a +prefix');
      if (value.startsWith('+')) value = value.replace(VISUAL_SEPARATORS, '');
    }
    params.push([name, value]);
  }
  const hasContext = params.some(([n]) => n === 'phone-context');
  if (global) {
    const digits = number.length - 1;
    if (digits < 1 || digits > 15) throw bad('a global number has 1 to 15 digits after the + (E.164)');
    if (hasContext) throw bad('a global number (+...) takes no phone-context');
  } else if (!hasContext) {
    throw bad('a local number needs a phone-context (tel:1234;phone-context=example.com), or write it as a global number tel:+...');
  }
  return { number, params, global };
}

/**
 * Checks a call target for a SIP line and returns its canonical text (what {@link sipTargetUri} and
 * {@link sipTargetKind} read): a number compacted (`+4930123456`), a user as given, `user@host`
 * written `sip:user@host`, a `sip:` / `sips:` / `tel:` URI trimmed with its scheme in lower case.
 * Throws {@link InvalidInputError} saying what a SIP line accepts.
 */
export function validateSipTarget(value: unknown, what = 'phone number'): string {
  if (typeof value === 'number') return validatePhoneNumber(value, what);
  if (typeof value !== 'string') throw new InvalidInputError(`the ${what} must be a string: ${SIP_TARGET_FORMS}; got ${describe(value)}`);
  const text = value.trim();
  if (text === '') throw new InvalidInputError(`the ${what} is empty: give ${SIP_TARGET_FORMS}`);
  if (text.length > MAX_SIP_TARGET_LENGTH) throw new InvalidInputError(`the ${what} is too long (${text.length} characters, at most ${MAX_SIP_TARGET_LENGTH})`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1].toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return validateCallTarget(`${scheme}${text.slice(scheme.length)}`, what);
  if (scheme === 'tel') {
    const canonical = `tel${text.slice(3)}`;
    parseTelUri(canonical, what);
    return canonical;
  }
  if (/^[^@:]+@[^@]+$/.test(text)) {
    try {
      return validateCallTarget(`sip:${text}`, what);
    } catch {
      throw new InvalidInputError(`the ${what} "${printable(text)}" is not a valid SIP address: write user@host[:port] or sip:user@host[:port], without spaces, quotes, <, > or ?headers`);
    }
  }
  try {
    return validatePhoneNumber(text, what);
  } catch (err) {
    // Digits with a stray character are a number gone wrong: its own error says what is wrong.
    if (BARE_USER_RE.test(text) && /[A-Za-z]/.test(text)) return text;
    if (/^[+0-9 ().\-*#]+$/.test(text)) throw err;
  }
  throw new InvalidInputError(`the ${what} "${printable(text)}" is not valid on a SIP line: give ${SIP_TARGET_FORMS}`);
}

/** The kind of a canonical target ({@link validateSipTarget}'s result). */
export function sipTargetKind(target: string): SipTargetKind {
  if (/^sips?:/i.test(target)) return 'sip';
  if (/^tel:/i.test(target)) return 'tel';
  return /^\+?[0-9*#]+$/.test(target) ? 'number' : 'user';
}

/**
 * A SIP URI whose user part is written as RFC 3261 §25.1 `user` allows, not as sip.js writes it.
 * sip.js (grammar/uri.js `escapeUser`) runs the user through encodeURIComponent, which escapes `;` and
 * `=`: the telephone-subscriber user `1234;phone-context=example.com` (RFC 3261 §19.1.6) would go out
 * as `1234%3Bphone-context%3Dexample.com`, one opaque user, since `;` is reserved and its escaped form
 * is not equivalent (§19.1.4). This keeps unreserved and user-unreserved characters and escapes the
 * rest (`#` → `%23`, `%` → `%25`). `clone()` keeps the class: sip.js clones the Request-URI and To.
 */
export class SipTargetUri extends URI {
  static from(uri: URI): SipTargetUri {
    return new SipTargetUri(uri.scheme, uri.user ?? '', uri.host, uri.port, { ...uri.parameters });
  }

  override clone(): SipTargetUri {
    return new SipTargetUri(this.scheme, this.user ?? '', this.host, this.port, { ...this.parameters });
  }
}
// sip.js declares escapeUser private (grammar/uri.d.ts), so it is replaced on the prototype, not overridden in the class.
Object.defineProperty(SipTargetUri.prototype, 'escapeUser', { value: escapeUserPart, writable: true, configurable: true });

/** RFC 3261 §25.1 `user`: unreserved and user-unreserved characters as they are, anything else %-escaped (UTF-8). */
export function escapeUserPart(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    Array.from(Buffer.from(c, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** What a target dials: the URI, and the number the call's `remote.number` shows. */
export interface SipTargetAddress {
  uri: SipTargetUri;
  number: string;
}

/**
 * The SIP URI of a canonical target ({@link validateSipTarget}) on a line whose domain (else server)
 * is `host` (`host[:port]`). Throws {@link InvalidInputError} when sip.js's grammar cannot read the result.
 */
export function sipTargetUri(target: string, host: string, what = 'phone number'): SipTargetAddress {
  const kind = sipTargetKind(target);
  let text: string;
  let number: string;
  if (kind === 'sip') {
    text = target;
    number = '';
  } else if (kind === 'tel') {
    const tel = parseTelUri(target, what);
    const params = tel.params.map(([n, v]) => `;${n}${v === undefined ? '' : `=${v}`}`).join('');
    text = `sip:${escapeUserPart(tel.number + params)}@${host};user=phone`;
    number = tel.number;
  } else {
    text = `sip:${escapeUserPart(target)}@${host}${target.startsWith('+') ? ';user=phone' : ''}`;
    number = target;
  }
  const parsed = /[\s<>"?,]/.test(text) ? undefined : Grammar.URIParse(text);
  if (!parsed) throw new InvalidInputError(`the ${what} "${printable(target)}" does not make a SIP address with ${printable(host)}`);
  const uri = SipTargetUri.from(parsed);
  return { uri, number: kind === 'sip' ? (uri.user ?? '') : number };
}

// ───────────────────────────── caller ID ─────────────────────────────

/** A caller ID as the flow wrote it: a user / number for the From, and whether it came as a `tel:` URI. */
export interface SipCallerId {
  /** The From user: `1001`, `+4930123456`. */
  user: string;
  /** E.164 (leading `+`): the From gets `;user=phone`. */
  phone: boolean;
  /** Written as `tel:+...`: the trunk wants the identity as a tel URI (P-Asserted-Identity `<tel:...>`). */
  tel: boolean;
}

const CALLER_USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,]{1,64}$/;

/**
 * A caller ID for the From (and P-Asserted-Identity): a user (`1001`, `support`), an E.164 number
 * (`+4930123456`, separators removed) or a global `tel:` URI (`tel:+49-30-123456`, no params).
 * Throws {@link InvalidInputError}. A whole number is taken as its digits.
 */
export function parseSipCallerId(value: unknown, what = 'caller ID'): SipCallerId {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') throw new InvalidInputError(`the ${what} must be a string, got ${describe(value)}`);
  const text = value.trim();
  if (text === '') throw new InvalidInputError(`the ${what} is empty`);
  if (/^tel:/i.test(text)) {
    const tel = parseTelUri(`tel${text.slice(3)}`, what);
    if (!tel.global || tel.params.length > 0) {
      throw new InvalidInputError(`the ${what} "${printable(text)}" must be a global tel: URI without parameters, such as tel:+4930123456`);
    }
    return { user: tel.number, phone: true, tel: true };
  }
  const compact = /^\+[0-9 ().-]+$/.test(text) ? text.replace(/[ ().-]/g, '') : text;
  if (!CALLER_USER_RE.test(compact)) {
    throw new InvalidInputError(
      `the ${what} "${printable(text)}" is not valid: use a user or number (letters, digits, + and - _ . ! ~ * ' ( ) & = $ , at most 64 characters) or a tel: URI such as tel:+4930123456`,
    );
  }
  const phone = /^\+[0-9]{1,15}$/.test(compact);
  return { user: compact, phone, tel: false };
}

/** The canonical text of a caller ID (what DialOptions.callerId carries): `tel:+49...` or the user. */
export function formatSipCallerId(id: SipCallerId): string {
  return id.tel ? `tel:${id.user}` : id.user;
}
