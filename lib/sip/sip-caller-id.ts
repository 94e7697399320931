import { Grammar } from 'sip.js';
import type { RemoteParty, WithheldReason } from '../call/call';

/** What {@link callerOf} reads of an INVITE (sip.js's IncomingRequestMessage has all of it). */
export interface CallerHeaders {
  from: { uri: { user?: string; host: string; toString(): string }; displayName: string };
  getHeader(name: string): string | undefined;
  getHeaders(name: string): string[];
}

/** From users that stand for "no number" (RFC 3323 §4.1.1.3 `anonymous`; gateways' `unavailable` / `unknown`). */
const ANONYMOUS_USERS: Readonly<Record<string, WithheldReason>> = {
  anonymous: 'withheld',
  restricted: 'withheld',
  private: 'withheld',
  unavailable: 'unavailable',
  unknown: 'unavailable',
};

/** RFC 3323 / 3325 privacy values that hide the caller's identity from us. */
const PRIVACY_HIDING = new Set(['id', 'user', 'header']);

/**
 * The caller of an incoming INVITE as the call's `remote` (docs/sip-backend.md, "Caller ID and privacy"):
 * - the number is the From URI's user; a From that is anonymous (`sip:anonymous@anonymous.invalid`,
 *   RFC 3323 §4.1.1.3, or the host `anonymous.invalid`) has none, and neither has one whose user is
 *   `unavailable` / `unknown` (how gateways say the network gave no number);
 * - when the From names no user at all, the identity the network vouches for gives it: the first
 *   `P-Asserted-Identity` (RFC 3325; a `sip:` or `tel:` URI), else the calling party's
 *   `Remote-Party-ID` (draft-ietf-sip-privacy-04, still sent by Asterisk, Cisco and carriers' SBCs);
 *   the name likewise, when the From has none;
 * - `withheld: true` with `withheldReason` when the From is anonymous (`withheld`), the request asks
 *   for privacy (`Privacy: id`, `user` or `header`: `withheld`), the Remote-Party-ID says
 *   `privacy=full` or `privacy=uri` (`withheld`), or the From says the number is not available
 *   (`unavailable`). A Remote-Party-ID `privacy=name` (or `full`) hides the name: none is given.
 * Display names are read as RFC 3261 quoted strings (`"A \"B\""` is `A "B"`).
 */
export function callerOf(request: CallerHeaders): RemoteParty {
  const { uri, displayName } = request.from;
  const user = uri.user ?? '';
  const anonymousHost = uri.host.toLowerCase() === 'anonymous.invalid';
  const fromReason: WithheldReason | undefined = ANONYMOUS_USERS[user.toLowerCase()] ?? (anonymousHost ? 'withheld' : undefined);
  const privacy = (request.getHeader('privacy') ?? '')
    .split(';')
    .map((v) => v.trim().toLowerCase())
    .some((v) => PRIVACY_HIDING.has(v));
  const asserted = firstIdentity(request.getHeaders('p-asserted-identity'));
  const rpid = callingParty(request.getHeaders('remote-party-id'));
  const rpidPrivacy = rpid?.params.privacy?.toLowerCase();
  const numberHidden = rpidPrivacy === 'full' || rpidPrivacy === 'uri';
  const nameHidden = rpidPrivacy === 'full' || rpidPrivacy === 'name';
  let number = fromReason ? '' : user;
  if (!fromReason && user === '') number = asserted?.number || (numberHidden ? '' : rpid?.number) || '';
  const remote: RemoteParty = { number, uri: uri.toString() };
  const fromName = unquote(displayName ?? '');
  // A display name like "Anonymous" or "Unavailable" repeats the reason: it is not the caller's name.
  const names = [fromName, asserted?.name, nameHidden ? undefined : rpid?.name];
  const name = nameHidden ? undefined : names.find((n) => n && !ANONYMOUS_USERS[n.trim().toLowerCase()]);
  if (name) remote.name = name;
  const reason = fromReason ?? (privacy || numberHidden ? 'withheld' : undefined);
  if (reason) {
    remote.withheld = true;
    remote.withheldReason = reason;
  }
  return remote;
}

/** One identity header's value, read: its number (a tel: URI's number, a sip: URI's user), display name and params. */
export interface PartyIdentity {
  number: string;
  name?: string;
  params: Record<string, string | undefined>;
}

/** The first identity of `P-Asserted-Identity` headers (RFC 3325 §9.1: name-addrs, comma-separated, in one header or several). */
function firstIdentity(values: string[]): PartyIdentity | undefined {
  for (const value of values) {
    for (const part of splitNameAddrs(value)) {
      const identity = readNameAddr(part);
      if (identity?.number) return identity;
    }
  }
  return undefined;
}

/** The calling party's Remote-Party-ID: the one with `party=calling`, else the first without a `party`. */
function callingParty(values: string[]): PartyIdentity | undefined {
  const all = values.flatMap(splitNameAddrs).map(readNameAddr).filter((p): p is PartyIdentity => p !== undefined);
  return all.find((p) => p.params.party?.toLowerCase() === 'calling') ?? all.find((p) => p.params.party === undefined);
}

/**
 * `name-addr *(;param)` read by hand: sip.js's grammar parses SIP name-addrs but has no `tel:` URIs
 * (RFC 3966), which P-Asserted-Identity and Remote-Party-ID carry, so the display name, the URI in
 * `<>` and the params are split here and only a sip/sips URI goes through sip.js. Anything that does
 * not read is ignored (undefined): a header from the network never throws.
 */
export function readNameAddr(text: string): PartyIdentity | undefined {
  const m = /^\s*((?:"(?:[^"\\]|\\.)*")|[^<"]*?)\s*<([^<>]*)>\s*((?:;[^;]*)*)$/.exec(text);
  if (!m) return undefined;
  const name = unquote(m[1].trim()) || undefined;
  const uriText = m[2].trim();
  const params: Record<string, string | undefined> = {};
  for (const p of m[3].split(';').slice(1)) {
    const eq = p.indexOf('=');
    const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (key) params[key] = eq < 0 ? undefined : unquote(p.slice(eq + 1).trim());
  }
  let number: string | undefined;
  const tel = /^tel:([+0-9A-Fa-f*#().-]+)/i.exec(uriText);
  if (tel) number = tel[1].replace(/[().-]/g, '');
  else if (/^sips?:/i.test(uriText)) number = Grammar.URIParse(uriText)?.user;
  if (number === undefined) return undefined;
  return { number, ...(name ? { name } : {}), params };
}

/** Commas between name-addrs (not inside a quoted display name or a URI). */
function splitNameAddrs(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') {
      current += c + (value[++i] ?? '');
      continue;
    }
    if (c === '"' && !angle) quoted = !quoted;
    else if (c === '<' && !quoted) angle = true;
    else if (c === '>' && !quoted) angle = false;
    if (c === ',' && !quoted && !angle) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.filter((p) => p.trim() !== '');
}

/** An RFC 3261 quoted-string's content (`"A \"B\""` → `A "B"`), or the text as it is when not quoted. */
export function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t.replace(/\\(.)/g, '$1');
}
