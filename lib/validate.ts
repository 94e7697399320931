import { InvalidInputError } from './errors';

/**
 * Phone numbers that may reach a modem (`ATD<n>;`) or a SIP header: digits, an optional leading `+`,
 * `*` and `#` (supplementary service codes), 1 to 40 characters. Anything else (`;`, quotes, CR/LF,
 * letters, spaces) is refused, so that a number like `123;+CFUN=0` can never become a second command.
 */
const NUMBER_RE = /^\+?[0-9*#]{1,40}$/;

export const MAX_NUMBER_LENGTH = 40;

/**
 * Returns the number to dial, or throws {@link InvalidInputError} with a message a user understands.
 * Spaces, dashes, dots and parentheses people write numbers with are removed first: "+49 (30) 1234-56"
 * dials +4930123456.
 */
export function validatePhoneNumber(value: unknown, what = 'phone number'): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') {
    throw new InvalidInputError(`the ${what} must be a string of digits, got ${describe(value)}`);
  }
  const compact = value.replace(/[ \-.()]/g, '');
  if (compact.length === 0) throw new InvalidInputError(`the ${what} is empty`);
  if (compact.length > MAX_NUMBER_LENGTH + 1 || !NUMBER_RE.test(compact)) {
    throw new InvalidInputError(
      `the ${what} "${printable(value)}" is not valid: use digits, * and #, with an optional leading +, ` +
        `at most ${MAX_NUMBER_LENGTH} digits`,
    );
  }
  return compact;
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
