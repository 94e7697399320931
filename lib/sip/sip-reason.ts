import { q850Text } from '../call/q850-text';
import type { SipCallFeature, SipOutgoing } from './sip-call-context';

/**
 * The `Reason` header (RFC 3326) on every BYE, CANCEL and refusal we send: `Reason: Q.850;cause=N;
 * text="..."` with the Q.850 cause the call ends with (the flow's hangup cause, or the code it gave,
 * lib/sip/sip-cause.ts). A Reason already in the message (a flow's own header) is replaced: one per message.
 */
export class SipReason implements SipCallFeature {
  readonly name = 'reason';

  outgoing(out: SipOutgoing): void {
    if (out.kind !== 'bye' && out.kind !== 'cancel' && out.kind !== 'reject') return;
    const q850 = out.end?.q850;
    if (q850 === undefined) return;
    out.headers = [...out.headers.filter((h) => !/^reason\s*:/i.test(h)), reasonHeader(q850)];
  }
}

export function reasonHeader(q850: number): string {
  return `Reason: Q.850;cause=${q850};text="${q850Text(q850)}"`;
}
