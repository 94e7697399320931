import { CallStateError } from '../../../errors';
import { AtCommand } from '../at-command';
import { cssuLine } from '../call-urcs';
import { EmulatorFeature, EmulatorFeatureFactory, EmulatorHost, EmulatorReply } from '../emulator-feature';

/** How one family's audio commands behave. */
interface AudioModel {
  /** `AT+CLVL=?` lists `(<min>-<max>)`. */
  readonly levels: readonly [number, number];
  /** `AT+CLVL?` after power-on (the module keeps what was set: CLVL is saved). */
  readonly defaultLevel: number;
  /** The audio channel command, if any, and the values its `=?` lists. */
  readonly channel: { readonly command: '+QAUDMOD' | '+QAUDCH'; readonly values: readonly [number, number] } | null;
}

/**
 * The families' audio commands, as their manuals and SDKs give them:
 * - EC25: `+CLVL: (0-5)`, default 3 (EC2x/EG9x AT Commands Manual, AT+CLVL); `AT+QAUDMOD=(0-5)`
 *   (0 handset, 1 headset, 2 speaker, 3 processing off, 4 bluetooth, 5 general).
 * - EC200U (Unisoc): `+CLVL: (0-100)` (the Unisoc SDK's AT+CLVL); `AT+QAUDCH=(0-2)`.
 * - EC600N (ASR): `+CLVL: (0-11)` (assumed: QuecPython's 0–11 scale); `AT+QAUDCH=(0-2)`.
 * - generic: `+CLVL: (1-7)`, a range that does not start at 0, so that the host's scaling is tested
 *   on one; no audio channel command.
 * `AT+CMUT` (27.007) is on every profile and volatile: unmuted after a reboot.
 */
const AUDIO_MODELS: Readonly<Record<string, AudioModel>> = {
  ec25: { levels: [0, 5], defaultLevel: 3, channel: { command: '+QAUDMOD', values: [0, 5] } },
  ec200u: { levels: [0, 100], defaultLevel: 60, channel: { command: '+QAUDCH', values: [0, 2] } },
  ec600n: { levels: [0, 11], defaultLevel: 6, channel: { command: '+QAUDCH', values: [0, 2] } },
  generic: { levels: [1, 7], defaultLevel: 4, channel: null },
};

/** The control feature's scripting API: `modem.feature<EmulatorAudioControl>('control')`. */
export interface EmulatorAudioControl extends EmulatorFeature {
  /** `AT+CMUT` (volatile). */
  readonly muted: boolean;
  /** `AT+CLVL`, in the module's own range. */
  readonly level: number;
  readonly levels: readonly [number, number];
  /** The `AT+QAUDMOD` / `AT+QAUDCH` value; null on a module without the command. */
  readonly channel: number | null;
  readonly channelCommand: '+QAUDMOD' | '+QAUDCH' | null;
  /** `AT+CSSN=<n>,<m>` (volatile): `+CSSI` and `+CSSU` presentation. */
  readonly cssn: { readonly cssi: boolean; readonly cssu: boolean };
  /** False: the module answers `ERROR` to `AT+CSSN` (as one without it would). Default true. */
  cssnSupported: boolean;
  /**
   * The far end of connected call `idx` (default: the only connected one) puts it on hold: `+CSSU: 2`
   * when the host asked for `+CSSU`. The module's own lists (`AT+CLCC`) still show the call active,
   * as on a real network: only the notification tells.
   */
  remoteHold(idx?: number): void;
  /** The far end takes the call back: `+CSSU: 3`. */
  remoteResume(idx?: number): void;
}

/**
 * `AT+CMUT`, `AT+CLVL` and the profile's audio channel command (`AT+QAUDMOD` on EC25, `AT+QAUDCH` on
 * the other Quectel profiles; none on generic, where it answers `ERROR` like any unknown command).
 * Hold and call waiting (`AT+CHLD`) are the module's built-in commands.
 */
export const controlFeature: EmulatorFeatureFactory = (host: EmulatorHost): EmulatorAudioControl => {
  const model = AUDIO_MODELS[host.profile.name] ?? (host.profile.quectel ? AUDIO_MODELS.ec25 : AUDIO_MODELS.generic);
  let muted = false;
  let level = model.defaultLevel;
  let channel = model.channel ? 0 : null;

  /** One integer setting with the set / read / test forms of 27.007; `=?` lists `listed`, or the range. */
  const setting =
    (name: string, range: readonly [number, number], get: () => number, set: (v: number) => void, listed = `(${range[0]}-${range[1]})`) =>
    (cmd: AtCommand): EmulatorReply => {
      switch (cmd.kind) {
        case 'test':
          return host.ok([`${name}: ${listed}`]);
        case 'read':
          return host.ok([`${name}: ${get()}`]);
        case 'set': {
          const v = cmd.args.length === 1 && /^\d{1,3}$/.test(cmd.args[0]) ? Number(cmd.args[0]) : null;
          if (v === null || v < range[0] || v > range[1]) return host.cme(50);
          return { final: 'OK', after: () => set(v) };
        }
        default:
          return host.error();
      }
    };

  const commands: Record<string, (cmd: AtCommand) => EmulatorReply> = {
    '+CMUT': setting('+CMUT', [0, 1], () => (muted ? 1 : 0), (v) => (muted = v === 1), '(0,1)'),
    '+CLVL': setting('+CLVL', model.levels, () => level, (v) => (level = v)),
  };
  if (model.channel) {
    commands[model.channel.command] = setting(model.channel.command, model.channel.values, () => channel ?? 0, (v) => (channel = v));
  }

  let cssi = false;
  let cssu = false;
  let cssnSupported = true;
  /** `AT+CSSN=<n>[,<m>]`, `AT+CSSN?`, `AT+CSSN=?` (27.007 §7.17). */
  commands['+CSSN'] = (cmd: AtCommand): EmulatorReply => {
    if (!cssnSupported) return host.error();
    if (cmd.kind === 'test') return host.ok(['+CSSN: (0,1),(0,1)']);
    if (cmd.kind === 'read') return host.ok([`+CSSN: ${cssi ? 1 : 0},${cssu ? 1 : 0}`]);
    if (cmd.kind !== 'set' || cmd.args.length > 2 || !cmd.args.every((a) => a === '0' || a === '1')) return host.cme(50);
    const [n, m] = cmd.args;
    return { final: 'OK', after: () => ((cssi = n === '1'), m !== undefined && (cssu = m === '1')) };
  };
  const notify = (idx: number | undefined, code: number): void => {
    const connected = host.calls().filter((c) => (c.state === 'active' || c.state === 'held') && (idx === undefined || c.idx === idx));
    if (connected.length !== 1) {
      throw new CallStateError(idx === undefined ? `the emulated module has ${connected.length} connected calls: name one` : `the emulated module has no connected call ${idx}`);
    }
    if (cssu) host.urc(cssuLine(code));
  };

  return {
    name: 'control',
    commands,
    reset() {
      muted = false;
      cssi = false;
      cssu = false;
    },
    get cssn() {
      return { cssi, cssu };
    },
    get cssnSupported() {
      return cssnSupported;
    },
    set cssnSupported(on: boolean) {
      cssnSupported = on;
    },
    remoteHold: (idx) => notify(idx, 2),
    remoteResume: (idx) => notify(idx, 3),
    get muted() {
      return muted;
    },
    get level() {
      return level;
    },
    levels: model.levels,
    get channel() {
      return channel;
    },
    channelCommand: model.channel?.command ?? null,
  };
};
