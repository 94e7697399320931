/**
 * Parsing of one AT command line as the emulated module receives it (ITU-T V.250 syntax, one command a
 * line: the emulator does not take `;`-concatenated command lines).
 */

/** `exec`: `AT+CLCC`, `ATA`; `set`: `AT+CMEE=2`, `ATE0`, `ATD123;`; `read`: `AT+CPIN?`; `test`: `AT+CHLD=?`. */
export type CommandKind = 'exec' | 'set' | 'read' | 'test';

export interface AtCommand {
  /** Upper case: `''` for a bare `AT`, `A`, `D`, `E`, `I`, `S0`, `&F`, `+CLCC`, `^DSCI`. */
  readonly name: string;
  readonly kind: CommandKind;
  /** The text of the parameters as sent: after `=` (extended), after the letter (basic), the dial string. */
  readonly value: string;
  /** `value` split at commas outside quotes, each trimmed and unquoted. */
  readonly args: readonly string[];
}

const EXTENDED_RE = /^([+^][A-Z][A-Z0-9]*)(.*)$/i;
const S_REGISTER_RE = /^S(\d{1,3})(\?|=(\d*))$/i;
const BASIC_RE = /^(&?[A-Z])(\d*)$/i;

/**
 * Parses a line that starts with `AT` (any case). Returns null for a line the module cannot read
 * (the module answers `ERROR`); never throws.
 */
export function parseAtCommand(line: string): AtCommand | null {
  if (!/^AT/i.test(line)) return null;
  const body = line.slice(2).trim();
  if (body === '') return { name: '', kind: 'exec', value: '', args: [] };

  const ext = EXTENDED_RE.exec(body);
  if (ext) {
    const name = ext[1].toUpperCase();
    const rest = ext[2].trim();
    if (rest === '') return { name, kind: 'exec', value: '', args: [] };
    if (rest === '?') return { name, kind: 'read', value: '', args: [] };
    if (rest === '=?') return { name, kind: 'test', value: '', args: [] };
    if (rest.startsWith('=')) {
      const value = rest.slice(1).trim();
      const args = splitArgs(value);
      return args ? { name, kind: 'set', value, args } : null;
    }
    return null;
  }

  const first = body[0].toUpperCase();
  if (first === 'D') {
    const value = body.slice(1).trim();
    return { name: 'D', kind: 'set', value, args: [value] };
  }
  const s = S_REGISTER_RE.exec(body);
  if (s) {
    const name = `S${Number(s[1])}`;
    if (s[2] === '?') return { name, kind: 'read', value: '', args: [] };
    return { name, kind: 'set', value: s[3], args: [s[3]] };
  }
  const basic = BASIC_RE.exec(body);
  if (basic) {
    const value = basic[2];
    return { name: basic[1].toUpperCase(), kind: value === '' ? 'exec' : 'set', value, args: value ? [value] : [] };
  }
  return null;
}

/** Splits `"ccinfo",1,1` into `['ccinfo', '1', '1']`; null when a quote is not closed. */
export function splitArgs(value: string): string[] | null {
  if (value === '') return [];
  const args: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of value) {
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      args.push(current.trim());
      current = '';
    } else current += c;
  }
  if (quoted) return null;
  args.push(current.trim());
  return args;
}

/** A whole number argument of up to three digits (`AT+CMEE=2`, `ATS0=3`), else null. */
export function parseIntArg(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,3}$/.test(text)) return null;
  return Number(text);
}
