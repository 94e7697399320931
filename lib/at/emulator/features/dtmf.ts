import { AtCommand } from '../at-command';
import { EmulatorFeature, EmulatorFeatureFactory, EmulatorHost, EmulatorReply } from '../emulator-feature';

/**
 * How the emulated module's `AT+VTS` behaves:
 * - `string`: Quectel's `AT+VTS="<digits>"[,<duration>]`, a quoted string of up to 31 symbols and an
 *   optional duration in 1/10 s; `AT+VTS=?` answers `+VTS: (0-9,*,#,A-D),(0-255)` (UGxx manual §12.6).
 * - `per-digit`: 3GPP TS 27.007's `AT+VTS=<dtmf>`, one symbol and no duration (that is `AT+VTD`'s);
 *   `AT+VTS=?` answers `+VTS: (0-9,*,#,A-D)`.
 * - `none`: no DTMF at all: `AT+VTS` and `AT+VTD` answer `ERROR`.
 */
export type EmulatedVtsSyntax = 'string' | 'per-digit' | 'none';

/** One `AT+VTS` the module played into the call. */
export interface SentTones {
  /** Upper case, as played. */
  digits: string;
  /** The length of each tone: the command's duration, else `AT+VTD`'s; in ms (0: the network's). */
  durationMs: number;
}

/** The DTMF feature's scripting API: `modem.feature<EmulatorDtmf>('dtmf')`. */
export interface EmulatorDtmf extends EmulatorFeature {
  /** Every `AT+VTS` accepted, in order (kept across reboots: it is what the far end heard). */
  readonly sent: SentTones[];
  /** All the digits the far end heard, in order. */
  readonly heard: string;
  /** `AT+VTD`, in 1/10 s (volatile: 1 after a reboot, as in Quectel's manuals). */
  readonly toneDuration: number;
  /** The syntax this module takes; default: `string` on a Quectel profile, else `per-digit`. */
  syntax: EmulatedVtsSyntax;
}

const SYMBOL_RE = /^[0-9*#A-D]$/i;
const STRING_RE = /^[0-9*#A-D]{1,31}$/i;
const DEFAULT_VTD = 1;

/**
 * `AT+VTS` and `AT+VTD` per profile. Tone detection (`AT+QTONEDET`, and `pressDigits()` sending
 * `+QTONEDET: <ASCII code>` URCs) stays with the module's built-in switches.
 */
export const dtmfFeature: EmulatorFeatureFactory = (host: EmulatorHost): EmulatorDtmf => {
  const sent: SentTones[] = [];
  let vtd = DEFAULT_VTD;
  let syntax: EmulatedVtsSyntax = host.profile.quectel ? 'string' : 'per-digit';

  const tenths = (text: string | undefined): number | null => (text !== undefined && /^\d{1,3}$/.test(text) && Number(text) <= 255 ? Number(text) : null);

  const vts = (cmd: AtCommand): EmulatorReply => {
    if (syntax === 'none') return host.error();
    if (cmd.kind === 'test') return host.ok([syntax === 'string' ? '+VTS: (0-9,*,#,A-D),(0-255)' : '+VTS: (0-9,*,#,A-D)']);
    if (cmd.kind !== 'set') return host.error();
    const [digits = '', duration, extra] = cmd.args;
    const quoted = cmd.value.startsWith('"');
    const fits =
      syntax === 'string'
        ? (quoted ? STRING_RE : SYMBOL_RE).test(digits) && (duration === undefined || tenths(duration) !== null)
        : SYMBOL_RE.test(digits) && duration === undefined;
    if (!fits || extra !== undefined) return host.cme(50);
    if (!host.calls().some((c) => c.state === 'active')) return host.cme(3);
    const durationMs = (duration === undefined ? vtd : (tenths(duration) as number)) * 100;
    return { final: 'OK', after: () => void sent.push({ digits: digits.toUpperCase(), durationMs }) };
  };

  const vtdCommand = (cmd: AtCommand): EmulatorReply => {
    if (syntax === 'none') return host.error();
    switch (cmd.kind) {
      case 'test':
        return host.ok(['+VTD: (0-255)']);
      case 'read':
        return host.ok([`+VTD: ${vtd}`]);
      case 'set': {
        const n = cmd.args.length === 1 ? tenths(cmd.args[0]) : null;
        if (n === null) return host.cme(50);
        return { final: 'OK', after: () => (vtd = n) };
      }
      default:
        return host.error();
    }
  };

  return {
    name: 'dtmf',
    commands: { '+VTS': vts, '+VTD': vtdCommand },
    sent,
    get heard() {
      return sent.map((s) => s.digits).join('');
    },
    get toneDuration() {
      return vtd;
    },
    get syntax() {
      return syntax;
    },
    set syntax(value: EmulatedVtsSyntax) {
      if (!['string', 'per-digit', 'none'].includes(value)) throw new TypeError('syntax must be string, per-digit or none');
      syntax = value;
    },
    reset() {
      vtd = DEFAULT_VTD;
    },
  };
};
