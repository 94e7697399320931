import type { IncomingRequestMessage } from 'sip.js/lib/core';
import type { SipCallContext, SipCallFeature, SipRequestAnswer } from './sip-call-context';

/**
 * RFC 3261 §8.2.2.3: a request whose `Require` names an extension we do not support is answered
 * `420 Bad Extension` with `Unsupported:` listing those, before anything else happens (sip.js never
 * looks at Require, and would answer 200 to an INVITE that requires session timers it does not run).
 * What we support is the line's `Supported`, computed from its features (lib/sip/sip-features.ts).
 * Every request but ACK and CANCEL (which cannot be refused), an INVITE or one in a dialog alike.
 */
export class SipExtensions implements SipCallFeature {
  readonly name = 'extensions';

  constructor(private readonly ctx: Pick<SipCallContext, 'supported'>) {}

  request(message: IncomingRequestMessage): SipRequestAnswer | void {
    if (message.method === 'ACK' || message.method === 'CANCEL') return;
    const missing = unsupported(message.getHeaders('require'), this.ctx.supported());
    if (missing.length === 0) return;
    return {
      statusCode: 420,
      why: `it requires ${missing.join(', ')}, which this line does not support`,
      extraHeaders: [`Unsupported: ${missing.join(', ')}`],
    };
  }
}

/** The option tags of `Require` header values (comma lists, any case) not among `supported`, each once. */
export function unsupported(requireValues: readonly string[], supported: readonly string[]): string[] {
  const known = new Set(supported.map((t) => t.toLowerCase()));
  const tags = requireValues.flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
  return [...new Set(tags.filter((t) => !known.has(t.toLowerCase())))];
}
