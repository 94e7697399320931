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
  /** Models this profile serves (matched against `AT+CGMM` / `ATI`), upper case. */
  models: readonly RegExp[];
}

export const MODEM_PROFILES: Readonly<Record<string, ModemProfile>> = {
  'quectel-asr': {
    name: 'quectel-asr',
    description: 'Quectel on ASR chips (EC200N, EC600N, EC600S, EG912N, EG915N, EC200A)',
    callReports: ['dsci', 'ccinfo', 'poll'],
    hangupWithCause: true,
    models: [/^EC200N/, /^EC600N/, /^EC600S/, /^EG912N/, /^EG915N/, /^EC200A/],
  },
  'quectel-unisoc': {
    name: 'quectel-unisoc',
    description: 'Quectel on Unisoc chips (EC200U, EC600U, EG912U, EG915U)',
    callReports: ['ccinfo', 'dsci', 'poll'],
    hangupWithCause: true,
    models: [/^EC200U/, /^EC600U/, /^EG912U/, /^EG915U/],
  },
  'quectel-ec2x': {
    name: 'quectel-ec2x',
    description: 'Quectel EC2x / EG2x (Qualcomm)',
    callReports: ['ccinfo', 'poll'],
    hangupWithCause: true,
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
