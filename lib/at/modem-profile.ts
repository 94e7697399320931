/**
 * What the host must know about a module family to drive its calls. The line identifies the module
 * (`ATI`, `AT+CGMM`, `AT+CGMR`) and picks one (`modem: "auto"`), or uses the one configured.
 */
export type CallReport = 'dsci' | 'ccinfo' | 'poll';

export interface ModemProfile {
  name: string;
  description: string;
  /** How the module reports call state, best first; the first one the module accepts is used. */
  callReports: readonly CallReport[];
  /** `AT+QHUP=<cause>[,<idx>]` (Quectel): hang up with a Q.850 cause. */
  hangupWithCause: boolean;
  /**
   * DTMF sending (lib/at/features/dtmf.ts): `string` when `AT+VTS` takes a quoted digit string and a
   * duration (`AT+VTS="123#",1`), `per-digit` when it takes one digit and the duration is set by
   * `AT+VTD`. A hint: the `AT+VTS=?` probe has the last word. Absent: `per-digit` (3GPP TS 27.007).
   */
  dtmfSend?: 'string' | 'per-digit';
  /** DTMF detection: `AT+QTONEDET=1`, then `+QTONEDET: <ASCII code>` per key (Quectel). */
  toneDetection?: boolean;
  /**
   * Audio channel selection (lib/at/features/control.ts): `qaudmod` is `AT+QAUDMOD=<mode>` (EC2x/EG2x),
   * `qaudch` is `AT+QAUDCH=<channel>` (the other Quectel families); both number handset 0, headset 1,
   * speaker 2. The `=?` probe has the last word. Absent: the module has no such command.
   */
  audioChannel?: 'qaudmod' | 'qaudch';
  /**
   * Call recording into the module's own file system (`AT+QAUDRD=1,"<file>",<format>,<dlink>`,
   * lib/at/features/audio.ts): the `<format>` code of each file format and the `<dlink>` code of each
   * direction the family records. The `AT+QAUDRD=?` probe has the last word. Absent: no recording.
   */
  recording?: RecordingProfile;
  /** Call audio as 8 kHz 16-bit PCM on a second USB serial port, `AT+QPCMV=1,0` (EC2x/EG2x). */
  pcmStream?: boolean;
  /** Models this profile serves (matched against `AT+CGMM` / `ATI`), upper case. */
  models: readonly RegExp[];
}

/** See {@link ModemProfile.recording}. */
export interface RecordingProfile {
  formats: Readonly<Partial<Record<'wav' | 'amr', number>>>;
  directions: Readonly<Partial<Record<'rx' | 'tx' | 'both', number>>>;
}

/**
 * `AT+QAUDRD` codes. EC2x (Quectel EC2x&EG2x&EG9x&EM05 AT Commands Manual, AT+QAUDRD): `<format>` 3
 * AMR, 13 WAV_PCM16; `<dlink>` 0 uplink, 1 downlink, and "recording the uplink and the downlink at the
 * same time is not supported": no MIX. The ASR and Unisoc families record RX, TX and MIX (QuecPython
 * `voiceCall.startRecord` record_mode 0/1/2), taken as `<dlink>` 2 for MIX and confirmed by the probe.
 */
const QAUDRD_EC2X: RecordingProfile = { formats: { amr: 3, wav: 13 }, directions: { tx: 0, rx: 1 } };
const QAUDRD_MIX: RecordingProfile = { formats: { amr: 3, wav: 13 }, directions: { tx: 0, rx: 1, both: 2 } };

export const MODEM_PROFILES: Readonly<Record<string, ModemProfile>> = {
  'quectel-asr': {
    name: 'quectel-asr',
    description: 'Quectel on ASR chips (EC100Y, EC200N, EC600N, EC600S, EC800N, EG912N, EG915N, EC200A)',
    audioChannel: 'qaudch',
    callReports: ['dsci', 'ccinfo', 'poll'],
    hangupWithCause: true,
    dtmfSend: 'string',
    toneDetection: true,
    recording: QAUDRD_MIX,
    models: [/^EC100Y/, /^EC200N/, /^EC600N/, /^EC600S/, /^EC800N/, /^EG912N/, /^EG915N/, /^EC200A/],
  },
  'quectel-unisoc': {
    name: 'quectel-unisoc',
    description: 'Quectel on Unisoc chips (EC200U, EC600U, EG912U, EG915U)',
    audioChannel: 'qaudch',
    callReports: ['ccinfo', 'dsci', 'poll'],
    hangupWithCause: true,
    dtmfSend: 'string',
    toneDetection: true,
    recording: QAUDRD_MIX,
    models: [/^EC200U/, /^EC600U/, /^EG912U/, /^EG915U/],
  },
  'quectel-ec2x': {
    name: 'quectel-ec2x',
    description: 'Quectel EC2x / EG2x (Qualcomm)',
    audioChannel: 'qaudmod',
    // ^DSCI when a firmware refuses ccinfo: EC25 firmware prints it after AT^DSCI=1, numbered as the
    // ASR manual (asterisk-chan-quectel drives EC20/EC25 calls by ^DSCI 2, 7, 3 and 6).
    callReports: ['ccinfo', 'dsci', 'poll'],
    hangupWithCause: true,
    dtmfSend: 'string',
    toneDetection: true,
    recording: QAUDRD_EC2X,
    pcmStream: true,
    models: [/^EC2\d/, /^EG2\d/],
  },
  generic: {
    name: 'generic',
    description: 'any 3GPP TS 27.007 modem',
    callReports: ['poll'],
    hangupWithCause: false,
    models: [],
  },
};

export const MODEM_PROFILE_NAMES = ['auto', ...Object.keys(MODEM_PROFILES)] as const;

/** The module's identity as read at connect time. */
export interface ModemIdentity {
  manufacturer: string;
  model: string;
  revision: string;
}

/**
 * Quectel modules without voice calls. The QuecPython `voiceCall` documentation (the list of modules
 * with voice, and "BC25/EC600G/EC800G/BG95/BG77 series module does not support voice call") names
 * them; the BC series are NB-IoT modules, and NB-IoT has no voice service at all (3GPP TS 36.300).
 */
const NO_VOICE: readonly RegExp[] = [/^BC\d/, /^EC600G/, /^EC800G/, /^BG95/, /^BG77/];

/** Whether the identified module can make calls: `{ voice: false, reason }` for one that cannot. */
export type VoiceSupport = { readonly voice: true } | { readonly voice: false; readonly reason: string };

/**
 * The line refuses a module without voice right after it is identified (a flow would otherwise see
 * every dial fail with an obscure error): its status says `<model> has no voice calls`.
 */
export function voiceSupport(id: ModemIdentity): VoiceSupport {
  const model = id.model.toUpperCase().trim();
  if (NO_VOICE.some((re) => re.test(model))) {
    return { voice: false, reason: `${id.model.trim()} has no voice calls` };
  }
  return { voice: true };
}

/** Picks the profile for an identified module; unknown modules get `generic`. */
export function detectProfile(id: ModemIdentity): ModemProfile {
  const model = id.model.toUpperCase().trim();
  const isQuectel = /QUECTEL/i.test(id.manufacturer) || /QUECTEL/i.test(id.model);
  for (const p of Object.values(MODEM_PROFILES)) {
    if (p.models.some((re) => re.test(model))) return p;
  }
  // A Quectel we do not know: its URCs are still Quectel's, ccinfo being the most widespread.
  return isQuectel ? MODEM_PROFILES['quectel-ec2x'] : MODEM_PROFILES.generic;
}

export function profileByName(name: string): ModemProfile | null {
  return MODEM_PROFILES[name] ?? null;
}
