import type { Session } from 'sip.js';
import type { IncomingRequestMessage } from 'sip.js/lib/core';

/**
 * The REFER implicit subscription (RFC 3515 §2.4.4-§2.4.7): the transferee reports how its call to the
 * target goes with NOTIFYs, `Event: refer`, a `message/sipfrag` body whose first line is the status
 * line of that call (`SIP/2.0 100 Trying`, `SIP/2.0 180 Ringing`, `SIP/2.0 200 OK`), and
 * `Subscription-State: terminated` on the last one. sip.js hands incoming NOTIFYs to the refer's
 * `onNotify` but neither reads nor sends sipfrag (node_modules/sip.js/lib/api/referral.js makes the
 * Inviter only): both ends are here. Written by hand because no maintained library does sipfrag.
 */

/** One NOTIFY of the refer subscription, as read. */
export interface ReferNotify {
  /** The sipfrag's status code (undefined: no readable status line). */
  code?: number;
  /** The sipfrag's status line as received (printable, at most 80 characters). */
  statusLine?: string;
  /** `Subscription-State: terminated`: the last NOTIFY. */
  terminated: boolean;
}

const STATUS_LINE_RE = /^SIP\/2\.0[ \t]+([1-6][0-9]{2})(?:[ \t]+([^\r\n]*))?/;

/**
 * Reads a NOTIFY of the refer subscription. Never throws: a body that is not a sipfrag gives no code
 * (a malformed message from the network must not end anything, design §5 / the backend contract).
 */
export function readReferNotify(message: IncomingRequestMessage): ReferNotify {
  const state = (message.getHeader('subscription-state') ?? '').trim().toLowerCase();
  const terminated = state.startsWith('terminated');
  const body = typeof message.body === 'string' ? message.body.replace(/^\s+/, '') : '';
  const m = STATUS_LINE_RE.exec(body);
  if (!m) return { terminated };
  const statusLine = `SIP/2.0 ${m[1]} ${(m[2] ?? '').replace(/[\x00-\x1f\x7f]/g, '').trim()}`.trim().slice(0, 80);
  return { code: Number(m[1]), statusLine, terminated };
}

/** True for the NOTIFY of a refer subscription (`Event: refer`, maybe with `;id=`). */
export function isReferEvent(message: IncomingRequestMessage): boolean {
  return /^\s*refer\b/i.test(message.getHeader('event') ?? '');
}

/** Reason phrases of the status lines we put in our own sipfrags. */
const PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  603: 'Decline',
};

/** `SIP/2.0 <code> <phrase>` for a sipfrag body. */
export function statusLineFor(code: number): string {
  return `SIP/2.0 ${code} ${PHRASES[code] ?? ''}`.trim();
}

/** How long our refer subscription lives (RFC 3515 leaves it to the notifier; we end it on the final status). */
const SUBSCRIPTION_EXPIRES_S = 60;

/**
 * Sends one NOTIFY of the refer subscription in the call's dialog (we are the transferee and report our
 * call to the target). `final` ends the subscription (`terminated;reason=noresource`). Resolves when
 * the NOTIFY is answered (any answer: the referrer may already have gone); never rejects.
 */
export function sendReferNotify(session: Session, code: number, final: boolean): Promise<void> {
  const dialog = session.dialog;
  if (!dialog) return Promise.resolve();
  return new Promise<void>((resolve) => {
    try {
      dialog.notify(
        { onAccept: () => resolve(), onReject: () => resolve() },
        {
          extraHeaders: ['Event: refer', `Subscription-State: ${final ? 'terminated;reason=noresource' : `active;expires=${SUBSCRIPTION_EXPIRES_S}`}`],
          body: { contentDisposition: 'render', contentType: 'message/sipfrag;version=2.0', content: `${statusLineFor(code)}\r\n` },
        },
      );
    } catch {
      // The dialog ended meanwhile (sip.js throws on a dialog not confirmed): nobody to tell.
      resolve();
    }
  });
}
