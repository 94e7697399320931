import type { Logger } from '../backend';
import { flag, number, SettingsOf, text } from '../line/line-settings';
import type { AtBackendOptions } from './modem-backend';

/**
 * The AT line's settings, ONE table from the `voice-line` node's properties to the AT backend's
 * options (lib/line/line-settings.ts says how it is read; the SIP line's is lib/sip/sip-line-settings.ts).
 * Adding a setting: an entry here, its option in {@link atBackendOptions}, its editor field.
 */
export const AT_LINE_SETTINGS = {
  /** A device path, or `sim:<profile>` for the built-in emulator. */
  serialPort: text({ keepEmpty: true }),
  /** The module's PCM audio port (a second USB serial port, `AT+QPCMV`), for streaming and playback. */
  pcmPort: text(),
  baudRate: number({ fallback: 115200 }),
  /** `auto` or a modem profile name. */
  modem: text({ fallback: 'auto' }),
  /** Restart a module that stays silent after the port was reopened (`AT+CFUN=1,1`). */
  resetOnHang: flag(false),
} as const;

export type AtLineSettings = SettingsOf<typeof AT_LINE_SETTINGS>;

/** The AT backend's options from a line's settings (the device path is `serialPort`), its PIN (a credential) and log. */
export function atBackendOptions(settings: AtLineSettings, line: { lineId: string; pin?: string; log?: Logger }): AtBackendOptions {
  return {
    lineId: line.lineId,
    path: settings.serialPort ?? '',
    pcmPort: settings.pcmPort,
    resetOnHang: settings.resetOnHang,
    baudRate: settings.baudRate ?? 115200,
    modem: settings.modem ?? 'auto',
    pin: line.pin,
    log: line.log,
  };
}
