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
 * The caller of an incoming INVITE as the call's `remote`:
 * - the number is the From URI's user; a From that is anonymous (`sip:anonymous@anonymous.invalid`,
 *   RFC 3323 §4.1.1.3, or the host `anonymous.invalid`) has none, and neither has one whose user is
 *   `unavailable` / `unknown` (how gateways say the network gave no number);
 * - when the From names no user at all and the request carries a `P-Asserted-Identity` (RFC 3325:
 *   the identity the network vouches for), its user (a `sip:` or `tel:` URI) is the number;
 * - `withheld: true` with `withheldReason` when the From is anonymous (`withheld`), the request asks
 *   for privacy (`Privacy: id`, `user` or `header`: `withheld`) or the From says the number is not
 *   available (`unavailable`).
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
  let number = fromReason ? '' : user;
  if (!fromReason && user === '') number = assertedNumber(request.getHeaders('p-asserted-identity')) ?? '';
  const remote: RemoteParty = { number, uri: uri.toString() };
  // A display name like "Anonymous" or "Unavailable" repeats the reason: it is not the caller's name.
  if (displayName && !ANONYMOUS_USERS[displayName.trim().toLowerCase()]) remote.name = displayName;
  const reason = fromReason ?? (privacy ? 'withheld' : undefined);
  if (reason) {
    remote.withheld = true;
    remote.withheldReason = reason;
  }
  return remote;
}

/**
 * The number of the first `P-Asserted-Identity` (RFC 3325 §9.1: one or two name-addrs, a sip/sips
 * and a tel URI, comma-separated, in one header or two): a `tel:` URI's number, a `sip:` URI's user.
 * sip.js parses name-addrs (its grammar has no `tel:` URIs: those are read by hand).
 */
function assertedNumber(values: string[]): string | undefined {
  for (const value of values) {
    for (const part of value.split(/,(?=\s*(?:"[^"]*"\s*)?<)/)) {
      const tel = /<\s*tel:([+0-9*#().-]+)/i.exec(part);
      if (tel) return tel[1].replace(/[().-]/g, '');
      const user = Grammar.nameAddrHeaderParse(part.trim())?.uri.user;
      if (user) return user;
    }
  }
  return undefined;
}
