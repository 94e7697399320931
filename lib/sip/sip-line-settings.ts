import { readFileSync } from 'node:fs';
import type { Logger } from '../backend';
import { InvalidInputError } from '../errors';
import { choice, flag, number, Setting, SettingsOf, text } from '../line/line-settings';
import { printable } from '../validate';
import { mediaWorkerCount, MediaWorkersSetting } from '../media-engine/media-engine';
import { MEDIA_PRIORITIES } from '../media-engine/thread-priority';
import { SIP_DTMF_MODES } from './rtp-description-handler';
import { MEDIA_ENCRYPTIONS } from './sdes';
import { INCOMING_REFER_POLICIES } from './sip-forwarding';
import { SESSION_REFRESHERS } from './session-timer-rules';
import { SIP_TRANSPORTS } from './transport-address';
import type { SipBackendOptions } from './sip-backend';

export const CALL_WAITING_MODES = ['auto', 'on', 'off'] as const;

/** The codecs setting: `"PCMU,PCMA"` as the editor stores it, or a list (embedders); the backend parses it. */
const codecs: Setting<string | readonly string[]> = {
  read: (raw) => (Array.isArray(raw) ? (raw as string[]) : text().read(raw)),
};

/** `mediaWorkers`: `auto` as written, a number from the editor's text; empty is "not set" (auto). */
const mediaWorkers: Setting<MediaWorkersSetting> = {
  read: (raw) => (raw === undefined || raw === null || raw === '' ? undefined : String(raw).trim() === 'auto' ? 'auto' : Number(raw)),
  check: (value) => void mediaWorkerCount(value),
};

/**
 * The SIP line's settings, ONE table from the `voice-line` node's properties to the SIP backend's
 * options (lib/line/line-settings.ts says how it is read). Each key is the node's property name, the
 * line config's and the backend option's. Adding a setting: an entry here (its type follows), the
 * backend or its feature reads `options.<key>`, and its editor field in nodes/voice-line.html.
 */
export const SIP_LINE_SETTINGS = {
  /** The registrar / PBX / trunk, `host[:port]` (the password is a credential). */
  server: text({ keepEmpty: true }),
  /** `udp` (default), `tcp`, `tls`, `ws`, `wss`. */
  transport: choice(SIP_TRANSPORTS, 'SIP transport', 'udp'),
  /** The account's user name (also the caller ID sent; in trunk mode, the number this line is). */
  username: text({ keepEmpty: true }),
  /** The account's domain (default: the server's host). */
  domain: text(),
  /** Register the account (default true); false = trunk mode. */
  register: flag(true),
  /** Local SIP port (0 or empty = any). */
  localPort: number(),
  /** Local address for SIP and RTP, named in Via, Contact and SDP (default: the one routed towards the server). */
  localAddress: text(),
  /** RTP port range (default 10000–20000). */
  rtpPortMin: number(),
  rtpPortMax: number(),
  /** From display name. */
  displayName: text(),
  /** `host[:port]` every request is sent to instead of the server (the registrar stays the server). */
  outboundProxy: text(),
  /**
   * Trunk mode: more places calls may come from, `host[:port]` separated by commas or spaces (no port:
   * any port of that host); checked by the backend (parseTrustedSources). docs/scale-out.md.
   */
  trustedSources: text(),
  /** The codecs offered and accepted, in order of preference: `"PCMU,PCMA"` (default PCMU, PCMA). */
  codecs,
  /** How DTMF is sent (and which way is offered): `rfc4733` (default), `info` (SIP INFO) or `inband`. */
  dtmfMode: choice(SIP_DTMF_MODES, 'DTMF mode'),
  /** SRTP with SDES keys (docs/sip-srtp.md): `none` (default), `optional` or `required`; use it with TLS. */
  mediaEncryption: choice(MEDIA_ENCRYPTIONS, 'media encryption'),
  /** Calls at once (in and out); an INVITE beyond it is answered 486. 0 = no limit (default). */
  maxCalls: number({
    check: (max) => {
      if (!Number.isInteger(max) || max < 0) throw new InvalidInputError(`the maximum number of calls must be a whole number, 0 for no limit, got ${String(max)}`);
    },
  }),
  /**
   * Call waiting (docs/control.md, "Call waiting"): `on`, a call that comes while another is in
   * progress is `waiting`, and answering it holds the active one, as a phone does; `off`, every call is
   * `incoming` and calls are independent (a trunk, an IVR taking many callers); `auto` (default): on
   * for a registered line, off in trunk mode.
   */
  callWaiting: choice(CALL_WAITING_MODES, 'call waiting setting'),
  /** A REFER from the other side: `follow` it (call the target, end this call `transferred`) or `refuse` it (default). */
  incomingRefer: choice(INCOMING_REFER_POLICIES, 'incoming REFER setting'),
  /**
   * Session timers (RFC 4028, lib/sip/session-timer.ts): the interval we ask for, seconds (default
   * 1800; 90–86400, or 0 for none). Checked by the feature against its Min-SE (session-timer-rules.ts).
   */
  sessionExpires: number(),
  /** Who refreshes the session when the choice is ours: `auto` (default: whoever sent the INVITE), `us`, `them`. */
  sessionRefresher: choice(SESSION_REFRESHERS, 'session refresher'),
  /**
   * Worker threads for the calls' media (docs/media-engine.md): `auto` (default, one per core), a
   * number, or 0: the media runs in the flow's thread. Lines share the workers of the process.
   */
  mediaWorkers,
  /**
   * The media workers' scheduling priority (docs/media-engine.md, "Priority"): `normal` (default),
   * `high` (nice −10) or `realtime` (SCHED_RR); the last two need CAP_SYS_NICE (or root), else the
   * log says so and the workers run at normal priority. No effect with `mediaWorkers` 0.
   */
  mediaPriority: choice(MEDIA_PRIORITIES, 'media priority'),
  /** SIP over TLS / WSS: check the server's certificate (default true). */
  tlsVerify: flag(true),
  /** SIP over TLS / WSS: a PEM file of the CA certificates to trust instead of the system's, read when the line starts. */
  tlsCa: text(),
} as const;

export type SipLineSettings = SettingsOf<typeof SIP_LINE_SETTINGS>;

/** Settings the line turns into another option before the backend sees them (tlsVerify + tlsCa → tls). */
export type SipLineOnlySettings = 'tlsVerify' | 'tlsCa';

/**
 * The SIP backend's options from a line's settings: every setting passes by its name, except the TLS
 * pair, which becomes the `tls` option (the CA file read now, so that a path that does not work is the
 * line's error status, in words). The rest are not settings: the line's id, its password (a
 * credential), its log.
 */
export function sipBackendOptions(settings: SipLineSettings, line: { lineId: string; password?: string; log?: Logger }): SipBackendOptions {
  const { tlsVerify, tlsCa, ...given } = settings;
  // An empty text (a config written by hand, an embedder) is "not set", as the editor's reading makes it.
  const rest = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== '')) as typeof given;
  return {
    ...rest,
    server: rest.server ?? '',
    username: rest.username ?? '',
    ...line,
    tls: tlsOptions(rest.transport, tlsVerify, tlsCa),
  };
}

/**
 * TLS settings of a SIP line: certificate checking (on unless `tlsVerify` is false) and the CA file.
 * Only for TLS and WSS: a CA path on a UDP line is left alone.
 */
function tlsOptions(transport: string | undefined, tlsVerify: boolean | undefined, tlsCa: string | undefined): { ca?: Buffer; rejectUnauthorized: boolean } | undefined {
  if (transport !== 'tls' && transport !== 'wss') return undefined;
  const rejectUnauthorized = tlsVerify !== false;
  const path = (tlsCa ?? '').trim();
  if (!path) return { rejectUnauthorized };
  let ca: Buffer;
  try {
    ca = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'there is no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
    throw new InvalidInputError(`the TLS CA file "${printable(path, 200)}" cannot be read: ${why}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidInputError(`the TLS CA file "${printable(path, 200)}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return { ca, rejectUnauthorized };
}

