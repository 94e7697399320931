import { InvalidInputError } from './errors';

/**
 * Phone numbers that may reach a modem (`ATD<n>;`) or a SIP header: digits, an optional leading `+`,
 * `*` and `#` (supplementary service codes such as `*21*0800#`). Anything else (`;`, quotes, CR/LF,
 * letters, spaces) is refused, so that a number like `123;+CFUN=0` can never become a second command.
 */
const NUMBER_RE = /^\+?[0-9*#]+$/;

/** E.164: a phone number has at most 15 digits (`*`, `#` and the `+` are not digits). */
export const MAX_NUMBER_DIGITS = 15;
/** Longest text accepted, service codes included. */
export const MAX_NUMBER_LENGTH = 40;
/**
 * A whole number given as a JavaScript number (not a string) with this many digits or more is
 * refused: it is a millisecond timestamp (an inject node's default payload, 13 digits since 2001),
 * not a phone number, and dialling it on a modem would place a real call. A number that long is
 * written as a string (which also keeps its leading `+` or `0`).
 */
export const TIMESTAMP_DIGITS = 13;

/**
 * Returns the number to dial, or throws {@link InvalidInputError} with a message a user understands.
 * Spaces, dashes, dots and parentheses people write numbers with are removed first: "+49 (30) 1234-56"
 * dials +4930123456. A whole JavaScript number is taken as its digits (`5551234`), unless it has
 * {@link TIMESTAMP_DIGITS} digits or more (a timestamp).
 */
export function validatePhoneNumber(value: unknown, what = 'phone number'): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    if (String(value).length >= TIMESTAMP_DIGITS) {
      throw new InvalidInputError(
        `the ${what} is the number ${value}, which looks like a timestamp (an inject node's default payload), not a phone number: ` +
          `send the number as a string, e.g. "5551234", or set it in the node`,
      );
    }
    value = String(value);
  }
  if (typeof value !== 'string') {
    throw new InvalidInputError(`the ${what} must be a string of digits, got ${describe(value)}`);
  }
  const compact = value.replace(/[ \-.()]/g, '');
  if (compact.length === 0) throw new InvalidInputError(`the ${what} is empty`);
  const digits = compact.replace(/[^0-9]/g, '').length;
  if (compact.length > MAX_NUMBER_LENGTH || !NUMBER_RE.test(compact) || digits > MAX_NUMBER_DIGITS) {
    throw new InvalidInputError(
      `the ${what} "${printable(value)}" is not valid: use digits, * and #, with an optional leading +, ` +
        `at most ${MAX_NUMBER_DIGITS} digits (E.164)`,
    );
  }
  return compact;
}

/**
 * A SIP address as a call target (dial, divert, transfer): `sip:` or `sips:`, a user, `@`, a host (name,
 * IPv4 or `[IPv6]`), an optional port and `;params`. No spaces, no control characters (CR/LF would
 * start a new header), no `<`, `>`, `"` or `,` (they would close or split the Request-URI, `Contact` or
 * `Refer-To` it goes into), no `?headers` (a target cannot smuggle `Replaces` or any other header into
 * the request). The SIP backend parses it again with sip.js before it is sent.
 */
const SIP_TARGET_RE = /^sips?:[A-Za-z0-9\-_.!~*'()&=+$;/%]+@(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:;[A-Za-z0-9\-_.!~*'()%=+$]+)*$/i;

/** Longest SIP address accepted as a target (a header value, not a document). */
export const MAX_SIP_TARGET_LENGTH = 256;

/** True for a target written as a SIP address (`sip:...`, `sips:...`) rather than a number. */
export function isSipTarget(target: unknown): boolean {
  return typeof target === 'string' && /^sips?:/i.test(target.trim());
}

/**
 * Whom to call, divert or transfer to: a phone number ({@link validatePhoneNumber}), or a SIP address
 * `sip:user@host[:port][;params]` (checked strictly, see above). Which lines accept an address is the
 * line's decision (a SIP line does, an AT line refuses it); this only says whether the text is acceptable
 * at all, and returns it (the number compacted, the address trimmed). Throws {@link InvalidInputError}.
 * One check for `voice-dial` and `voice-forward`.
 */
export function validateCallTarget(value: unknown, what = 'phone number'): string {
  if (isSipTarget(value)) {
    const uri = (value as string).trim();
    if (uri.length > MAX_SIP_TARGET_LENGTH || !SIP_TARGET_RE.test(uri)) {
      throw new InvalidInputError(
        `the ${what} "${printable(value as string)}" is not a valid SIP address: write sip:user@host[:port], without spaces, quotes, <, > or ?headers`,
      );
    }
    return uri;
  }
  return validatePhoneNumber(value, what);
}

/** A short, safe description of a value for an error message (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${printable(String(value))}`;
}

/** Makes control characters visible and cuts long text, for error messages and logs. */
export function printable(text: string, max = 60): string {
  const shown = text.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}

/**
 * A SIP user part we put in a From URI (a caller ID): letters, digits and RFC 3261's unreserved and
 * user-unreserved marks, 1 to 64 characters. `;`, `?`, `/`, `@`, `:`, `%`, spaces and control
 * characters are refused, so that a caller ID can never add URI parameters, headers or a second line.
 */
const SIP_USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,]{1,64}$/;

/** Returns the caller ID (From user) to send, or throws {@link InvalidInputError}. A whole number is taken as digits. */
export function validateSipUser(value: unknown, what = 'caller ID'): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') throw new InvalidInputError(`the ${what} must be a string, got ${describe(value)}`);
  const text = value.trim();
  if (text === '') throw new InvalidInputError(`the ${what} is empty`);
  if (!SIP_USER_RE.test(text)) {
    throw new InvalidInputError(
      `the ${what} "${printable(value)}" is not valid: use letters, digits, + and - _ . ! ~ * ' ( ) & = $ , (at most 64 characters)`,
    );
  }
  return text;
}

export const MAX_DISPLAY_NAME_LENGTH = 100;

/**
 * Returns a display name (the From name people see), or throws {@link InvalidInputError}. sip.js writes
 * it between double quotes without escaping (name-addr-header.js), so a quote or backslash would end
 * the quoted string early: they are refused, as are control characters (CR/LF could start a header).
 */
export function validateDisplayName(value: unknown, what = 'display name'): string {
  if (typeof value !== 'string') throw new InvalidInputError(`the ${what} must be a string, got ${describe(value)}`);
  const text = value.trim();
  if (/[\x00-\x1f\x7f"\\]/.test(text) || text.length > MAX_DISPLAY_NAME_LENGTH) {
    throw new InvalidInputError(
      `the ${what} "${printable(value)}" is not valid: at most ${MAX_DISPLAY_NAME_LENGTH} characters, no quotes, backslashes or line breaks`,
    );
  }
  return text;
}

/** An RFC 3261 token: what a header name is made of. */
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/**
 * Headers a flow may not set on a call: those that make the request what it is (sip.js and the
 * transaction layer write them, and a second copy would break the dialog or the message framing),
 * the credentials sip.js computes, and those the line writes when it follows a REFER: `Replaces`
 * (RFC 3891: an INVITE with it takes over someone's call) and `Referred-By` (RFC 3892, compact `b`),
 * which come from the other side's REFER (DialOptions.referral), never from a flow. Compact forms
 * (RFC 3261 §7.3.3) included.
 */
export const RESERVED_SIP_HEADERS: readonly string[] = [
  'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'via', 'v', 'contact', 'm', 'content-length', 'l',
  'max-forwards', 'content-type', 'c', 'route', 'record-route', 'authorization', 'proxy-authorization',
  'replaces', 'referred-by', 'b',
];

export const MAX_EXTRA_HEADERS = 20;
export const MAX_HEADER_VALUE_LENGTH = 1000;

/**
 * Extra SIP headers from a flow (`{ "X-Ticket": "4711" }`) → `Name: value` lines for the request, or
 * {@link InvalidInputError} naming the header. A name must be a token and not one of
 * {@link RESERVED_SIP_HEADERS}; a value is a string or a number, without CR, LF or any other control
 * character but tab (no header injection), at most {@link MAX_HEADER_VALUE_LENGTH} characters.
 */
export function validateSipHeaders(value: unknown, what = 'SIP headers'): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new InvalidInputError(`the ${what} must be an object of header names and values, such as { "X-Ticket": "4711" }, got ${describe(value)}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_EXTRA_HEADERS) throw new InvalidInputError(`the ${what} are too many: ${entries.length}, at most ${MAX_EXTRA_HEADERS}`);
  const seen = new Set<string>();
  return entries.map(([name, raw]) => {
    if (!TOKEN_RE.test(name)) {
      throw new InvalidInputError(`the header name "${printable(name)}" in the ${what} is not valid: use letters, digits and - . ! % * _ + \` ' ~`);
    }
    const lower = name.toLowerCase();
    if (RESERVED_SIP_HEADERS.includes(lower)) {
      throw new InvalidInputError(`the header "${name}" cannot be set from a flow: the line writes it itself`);
    }
    if (seen.has(lower)) throw new InvalidInputError(`the header "${name}" is given twice in the ${what}`);
    seen.add(lower);
    return `${name}: ${validateSipHeaderValue(name, raw)}`;
  });
}

/**
 * One header value (a flow's, or one the line copies from a request it received): a string or a
 * number, without CR, LF or any other control character but tab (no header injection), at most
 * {@link MAX_HEADER_VALUE_LENGTH} characters. Returns it trimmed, or throws {@link InvalidInputError}
 * naming the header.
 */
export function validateSipHeaderValue(name: string, raw: unknown): string {
  if (typeof raw === 'number' && Number.isFinite(raw)) raw = String(raw);
  if (typeof raw !== 'string') throw new InvalidInputError(`the value of header "${name}" must be a string, got ${describe(raw)}`);
  const text = raw.trim();
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) {
    throw new InvalidInputError(`the value of header "${name}" contains a line break or a control character: "${printable(raw)}"`);
  }
  if (text.length > MAX_HEADER_VALUE_LENGTH) {
    throw new InvalidInputError(`the value of header "${name}" is too long: ${text.length} characters, at most ${MAX_HEADER_VALUE_LENGTH}`);
  }
  return text;
}
