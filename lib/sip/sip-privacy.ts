/**
 * Our identity on an outgoing INVITE: the From (caller ID and name), and with the privacy dial option
 * the RFC 3323 / 3325 form a trusted trunk expects (docs/sip-backend.md, "Caller ID and privacy"):
 *
 * - no privacy: From `"<name>" <sip:<caller ID>@<domain>>`, `;user=phone` when the caller ID is an
 *   E.164 number. A caller ID written as a `tel:` URI (`tel:+4930123456`) also sends
 *   `P-Asserted-Identity: <tel:+4930123456>`: the flow wrote the form its trunk wants (sip.js writes a
 *   From only as a SIP URI, so the tel form goes where trunks read it).
 * - privacy: From `"Anonymous" <sip:anonymous@anonymous.invalid>` (RFC 3323 §4.1.1.3), `Privacy: id`
 *   (RFC 3325 §9.3: the trunk removes the asserted identity before it leaves its trust domain), and
 *   `P-Asserted-Identity` with our real identity (the caller ID as written, else the account's
 *   `sip:<user>@<domain>`), the caller name as its display name. The trunk needs it to bill and route;
 *   a server that is not trusted sees it too, so the option is meant for a trunk or PBX of one's own.
 */
import { Grammar, URI } from 'sip.js';
import { InvalidInputError } from '../errors';
import { validateDisplayName } from '../validate';
import { parseSipCallerId, SipCallerId } from './sip-target';

/** RFC 3323 §4.1.1.3: the From of a caller who withholds its identity. */
export const ANONYMOUS_FROM = 'sip:anonymous@anonymous.invalid';

export interface OutgoingIdentityInput {
  /** DialOptions.callerId (canonical: a user, `+49...`, or `tel:+49...`), undefined for the account's user. */
  callerId?: string;
  /** DialOptions.callerName, undefined for the line's display name. */
  callerName?: string;
  /** The line's display name. */
  lineName?: string;
  privacy?: boolean;
  /** The account's address of record (sip.js's configuration.uri). */
  aor: URI;
}

export interface OutgoingIdentity {
  fromUri?: URI;
  fromDisplayName?: string;
  extraHeaders: string[];
}

/** The From parameters and the identity headers of one INVITE. Throws {@link InvalidInputError} for a bad caller ID or name. */
export function outgoingIdentity(input: OutgoingIdentityInput): OutgoingIdentity {
  const name = input.callerName !== undefined ? validateDisplayName(input.callerName, 'caller name') : input.lineName;
  const id: SipCallerId | undefined = input.callerId !== undefined ? parseSipCallerId(input.callerId, 'caller ID') : undefined;
  const own = input.aor.clone();
  if (id) {
    own.user = id.user;
    if (id.phone) own.setParam('user', 'phone');
  }
  const asserted = id?.tel ? `<tel:${id.user}>` : `<${own.toString()}>`;
  const quoted = (n: string): string => `"${n}" `; // validateDisplayName refused quotes, backslashes and control characters
  if (input.privacy) {
    const anonymous = Grammar.URIParse(ANONYMOUS_FROM);
    if (!anonymous) throw new InvalidInputError('the anonymous From cannot be read'); // a constant: cannot happen
    return {
      fromUri: anonymous,
      fromDisplayName: 'Anonymous',
      extraHeaders: ['Privacy: id', `P-Asserted-Identity: ${name ? quoted(name) : ''}${asserted}`],
    };
  }
  return {
    ...(id ? { fromUri: own } : {}),
    ...(name ? { fromDisplayName: name } : {}),
    extraHeaders: id?.tel ? [`P-Asserted-Identity: ${name ? quoted(name) : ''}${asserted}`] : [],
  };
}
