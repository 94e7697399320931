import { Grammar } from 'sip.js';
import { InvalidInputError } from '../errors';
import { describe } from '../validate';

/**
 * RFC 4028 (session timers) as rules on header values, without a network: what our INVITE asks, what
 * our answer to theirs says (or a 422), who refreshes after a 2xx, when a refresh is due and when a
 * session has expired. lib/sip/session-timer.ts puts them on calls.
 *
 * Roles are the RFC's, per transaction: `uac` is whoever sent the request (the INVITE, re-INVITE or
 * UPDATE) that this exchange is about, `uas` whoever answered it. A {@link SessionTimerPlan} turns
 * that into the one fact a call needs: whether WE refresh.
 */

/** RFC 4028 §4: the smallest Session-Expires (and Min-SE) anyone may ask for, in seconds. */
export const RFC4028_MIN_SE = 90;
/** The line's default session expiry (seconds): Asterisk's and FreeSWITCH's default too. */
export const DEFAULT_SESSION_EXPIRES = 1800;

/** Who keeps the session alive when the choice is ours (the line setting `sessionRefresher`). */
export const SESSION_REFRESHERS = ['auto', 'us', 'them'] as const;
export type SessionRefresherPreference = (typeof SESSION_REFRESHERS)[number];

export type RefresherRole = 'uac' | 'uas';

/** A `Session-Expires` header: the interval (seconds) and the refresher it names, if any. */
export interface SessionExpires {
  interval: number;
  refresher?: RefresherRole;
}

/** The line's session timer settings, checked. */
export interface SessionTimerSettings {
  /** The interval we ask for (seconds); 0: we ask for none (we still take part when the other side asks). */
  expires: number;
  /** The smallest interval we accept: our Min-SE (seconds, at least 1; RFC 4028's 90 unless a test lowers it). */
  minSe: number;
  refresher: SessionRefresherPreference;
}

/** A session timer in force on a call: its interval and whether we are the ones who refresh. */
export interface SessionTimerPlan {
  interval: number;
  weRefresh: boolean;
}

/**
 * Reads a Session-Expires value (`90;refresher=uac`; compact form `x` is the caller's job) with sip.js's
 * own grammar (its `Session_Expires` rule). A refresher other than uac / uas (in any case) is left out,
 * as RFC 4028 §4's grammar has no other. `undefined` for a missing or unreadable value.
 */
export function parseSessionExpires(value: string | undefined): SessionExpires | undefined {
  if (value === undefined) return undefined;
  const parsed = Grammar.parse(value.trim(), 'Session_Expires') as { deltaSeconds?: number; refresher?: string; params?: Record<string, string> } | -1;
  if (parsed === -1 || typeof parsed.deltaSeconds !== 'number' || !Number.isFinite(parsed.deltaSeconds)) return undefined;
  const refresher = String(parsed.refresher ?? parsed.params?.refresher ?? '').toLowerCase();
  return { interval: parsed.deltaSeconds, ...(refresher === 'uac' || refresher === 'uas' ? { refresher } : {}) };
}

/** Reads a Min-SE value (`90`, parameters ignored) with sip.js's grammar (`Min_SE`). */
export function parseMinSe(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Grammar.parse(value.trim(), 'Min_SE');
  // -1 is the grammar's "does not parse".
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

export function formatSessionExpires(se: SessionExpires): string {
  return `Session-Expires: ${se.interval}${se.refresher ? `;refresher=${se.refresher}` : ''}`;
}

/**
 * Checks the line settings (each refusal names the setting as the editor shows it). `minSe` is not a
 * line setting: RFC 4028's 90 s unless an embedder (a test) lowers it.
 */
export function sessionTimerSettings(o: { sessionExpires?: unknown; sessionRefresher?: unknown; sessionMinSe?: unknown }): SessionTimerSettings {
  const minSe = o.sessionMinSe ?? RFC4028_MIN_SE;
  if (typeof minSe !== 'number' || !Number.isInteger(minSe) || minSe < 1) {
    throw new InvalidInputError(`the smallest session interval must be a whole number of seconds above 0, got ${describe(minSe)}`);
  }
  const expires = o.sessionExpires ?? DEFAULT_SESSION_EXPIRES;
  if (typeof expires !== 'number' || !Number.isInteger(expires) || (expires !== 0 && expires < minSe) || expires > 86_400) {
    throw new InvalidInputError(`the session expiry must be a whole number of seconds from ${minSe} to 86400, or 0 for none, got ${describe(expires)}`);
  }
  const refresher = o.sessionRefresher ?? 'auto';
  if (typeof refresher !== 'string' || !(SESSION_REFRESHERS as readonly string[]).includes(refresher)) {
    throw new InvalidInputError(`the session refresher must be one of ${SESSION_REFRESHERS.join(', ')}, got ${describe(refresher)}`);
  }
  return { expires, minSe, refresher: refresher as SessionRefresherPreference };
}

/**
 * The timer headers of a request of ours that starts or refreshes a session (RFC 4028 §7.1, §7.4):
 * `Session-Expires` with the refresher our preference names (none for `auto`: the answerer chooses)
 * and `Min-SE`. `current`, on a refresh, is the timer in force: its interval is asked again, and the
 * refresher stays who it was (RFC 4028 §7.4: a refresh SHOULD keep the refresher).
 * `Supported: timer` is the user agent's, on every request and response (lib/sip/session-timer.ts).
 */
export function requestHeaders(s: SessionTimerSettings, current?: SessionTimerPlan): string[] {
  if (current) {
    return [formatSessionExpires({ interval: current.interval, refresher: current.weRefresh ? 'uac' : 'uas' }), `Min-SE: ${s.minSe}`];
  }
  if (s.expires === 0) return [];
  const refresher: RefresherRole | undefined = s.refresher === 'us' ? 'uac' : s.refresher === 'them' ? 'uas' : undefined;
  return [formatSessionExpires({ interval: s.expires, refresher }), `Min-SE: ${s.minSe}`];
}

/** What a request that starts or refreshes a session told us (we answer it). */
export interface TimerRequest {
  sessionExpires?: SessionExpires;
  minSe?: number;
  /** Its `Supported` (or `Require`) lists `timer`. */
  supportsTimer: boolean;
}

/** Our answer to a request: a 422 with our Min-SE, or the headers of our 2xx and the timer they set. */
export type TimerAnswer = { refuse: 422; headers: string[]; why: string } | { headers: string[]; plan?: SessionTimerPlan };

/**
 * RFC 4028 §9 (UAS): our 2xx to an INVITE, re-INVITE or UPDATE that starts or refreshes a session.
 * - Their Session-Expires below our Min-SE: 422 with our Min-SE when they support timers; when they do
 *   not (a proxy added the header), we may not refuse and raise it to our Min-SE instead.
 * - Their interval, lowered to our own expiry if that is shorter, never below their Min-SE (nor ours).
 * - No Session-Expires: ours (if we ask for one), at least their Min-SE.
 * - The refresher (the RFC's table 2): theirs when they named one; `uas` (us) when they do not support
 *   timers; otherwise our preference: `us` → uas, `them` or `auto` → uac (the one who sent the request
 *   keeps it alive: it is the one that knows it wants it, and how UAs such as Asterisk choose).
 * - `Require: timer` when the refresher is uac (RFC 4028 §9: they must know they refresh).
 */
export function answerRequest(req: TimerRequest, s: SessionTimerSettings): TimerAnswer {
  const asked = req.sessionExpires;
  const floor = Math.max(req.minSe ?? 0, s.minSe);
  let interval: number;
  if (asked) {
    if (asked.interval < s.minSe && req.supportsTimer) {
      return { refuse: 422, headers: [`Min-SE: ${s.minSe}`], why: `Session-Expires ${asked.interval} is below our Min-SE ${s.minSe}` };
    }
    interval = Math.max(s.expires > 0 ? Math.min(asked.interval, s.expires) : asked.interval, floor);
  } else {
    if (s.expires === 0) return { headers: [] };
    interval = Math.max(s.expires, floor);
  }
  let refresher: RefresherRole;
  if (!req.supportsTimer) refresher = 'uas';
  else if (asked?.refresher) refresher = asked.refresher;
  else refresher = s.refresher === 'us' ? 'uas' : 'uac';
  const headers = [formatSessionExpires({ interval, refresher })];
  if (refresher === 'uac') headers.push('Require: timer');
  return { headers, plan: { interval, weRefresh: refresher === 'uas' } };
}

/**
 * RFC 4028 §7.2 (UAC): the timer a 2xx to our request sets. No Session-Expires: no timer (the other
 * side does not use one, and no proxy asked). A Session-Expires without a refresher (which RFC 4028
 * §9 does not allow in a 2xx) is taken as `uac`: we refresh, which keeps the call alive either way.
 */
export function planFromAnswer(se: SessionExpires | undefined): SessionTimerPlan | undefined {
  if (!se || se.interval <= 0) return undefined;
  return { interval: se.interval, weRefresh: (se.refresher ?? 'uac') === 'uac' };
}

/**
 * RFC 4028 §7.3: the Session-Expires of our retry after a 422. The 422's Min-SE, and never less than
 * what we asked before; `undefined` when the 422 gives no usable Min-SE above what we asked (a retry
 * would be refused again).
 */
export function retryAfter422(asked: number, minSe: number | undefined): number | undefined {
  if (minSe === undefined || minSe <= asked) return undefined;
  return minSe;
}

/** When we refresh: half the interval (RFC 4028 §10), in ms. */
export function refreshDelayMs(interval: number): number {
  return (interval * 1000) / 2;
}

/**
 * When a session with no refresh seen is over (RFC 4028 §10): the interval minus the lesser of 32 s
 * and a third of the interval, in ms. The refresher's refresh at half the interval comes well before.
 */
export function expiryDelayMs(interval: number): number {
  return (interval - Math.min(32, interval / 3)) * 1000;
}

/** Whether a Supported / Require / Allow value (comma-separated, any case) lists `token`. */
export function listsToken(values: readonly string[], token: string): boolean {
  const t = token.toLowerCase();
  return values.some((v) => v.split(',').some((part) => part.trim().toLowerCase() === t));
}
