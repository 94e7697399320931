import { Cause, EndInfo, EndedBy, HangupCause, causeFromQ850 } from '../call/cause';

/**
 * SIP final responses → the contract's causes (design §5). One table, used for every failed INVITE,
 * whatever sent the response (the peer, a proxy, or sip.js itself for a timeout / transport failure).
 */
export function causeFromSipCode(code: number, options: { ringTimeoutFired?: boolean; synthetic?: boolean } = {}): Cause {
  if (code >= 300 && code < 400) return 'redirected';
  switch (code) {
    case 486:
    case 600:
      return 'busy';
    case 603:
      return 'rejected';
    case 480:
      // Our ring timeout cancelled it and the peer answered 480 rather than 487: the outcome is still ours.
      return options.ringTimeoutFired ? 'no-answer' : 'unavailable';
    case 408:
      return 'timeout';
    case 410:
      return 'changed-number';
    case 487:
      return 'cancelled';
    case 404:
    case 604:
    case 484:
      return 'not-found';
    case 401:
    case 403:
    case 407:
      return 'forbidden';
    case 415:
    case 488:
    case 606:
      return 'incompatible';
    case 503:
      // sip.js turns a transport failure into a bare 503 of its own (no Via): nothing answered.
      return options.synthetic ? 'network-error' : 'congestion';
    case 502:
      return 'out-of-order';
    case 500:
    case 504:
      return 'congestion';
    default:
      if (code >= 500 && code < 600) return 'network-error';
      return 'failed';
  }
}

/** `Reason: Q.850;cause=16;text="..."` → 16 (the first Q.850 value among the header's entries). */
export function q850FromReason(reason: string | undefined): number | undefined {
  if (!reason) return undefined;
  const m = /(?:^|,)\s*Q\.850\s*;(?:[^,]*;)?\s*cause\s*=\s*(\d{1,3})/i.exec(reason);
  return m ? Number(m[1]) : undefined;
}

/** `Reason: SIP;cause=421;text="..."` → 421 (the first SIP entry of the header, RFC 3326). */
export function sipCauseFromReason(reason: string | undefined): number | undefined {
  if (!reason) return undefined;
  const m = /(?:^|,)\s*SIP\s*;(?:[^,]*;)?\s*cause\s*=\s*(\d{3})/i.exec(reason);
  return m ? Number(m[1]) : undefined;
}

/** The causes a Reason header may refine: what a code says without saying why (`503` is congestion, or no circuit; `403` forbidden, or barred). */
const REFINABLE: readonly Cause[] = ['failed', 'congestion', 'forbidden'];

/**
 * What ended a call, from a SIP final response: the cause from the code, the raw code, the `Reason`
 * header kept as received and its Q.850 value. A Q.850 Reason carried by a final response wins only
 * where the code says nothing precise (a 5xx, 403 or an unknown code: `503` with Q.850 34 is
 * `no-circuit`, `403` with 54 `barred`), since the code is the SIP answer.
 */
export function endFromResponse(
  response: { statusCode: number; reasonPhrase?: string; reason?: string; synthetic?: boolean },
  by: EndedBy,
  ringTimeoutFired = false,
): EndInfo {
  const { statusCode, reasonPhrase, reason, synthetic } = response;
  let cause = causeFromSipCode(statusCode, { ringTimeoutFired, synthetic });
  const q850 = q850FromReason(reason);
  if (q850 !== undefined && REFINABLE.includes(cause) && causeFromQ850(q850) !== 'failed') cause = causeFromQ850(q850);
  const end: EndInfo = {
    cause,
    by,
    sipCode: statusCode,
    text: synthetic
      ? statusCode === 408
        ? 'no answer from the other side (408 timeout)'
        : 'could not reach the other side (transport failure)'
      : `the other side answered ${statusCode}${reasonPhrase ? ` ${reasonPhrase}` : ''}`,
  };
  if (reason) end.reason = reason;
  if (q850 !== undefined) end.q850 = q850;
  return end;
}

/**
 * A BYE or CANCEL's `Reason` header (RFC 3326) → the end it describes: a Q.850 cause the contract
 * knows other than normal clearing, else a SIP cause of 300 or more as its code would be (`SIP;cause=421`: `failed`), else the
 * fallback (`normal` / `cancelled`; a CANCEL with `SIP;cause=200` was answered elsewhere). The header
 * is kept as received (`reason`), with its Q.850 value.
 */
export function endFromRequest(method: 'BYE' | 'CANCEL', reason: string | undefined, fallback: Cause): EndInfo {
  let text = method === 'BYE' ? 'the other side hung up' : 'the caller gave up before answer';
  const end: EndInfo = { cause: fallback, by: 'remote', text };
  if (!reason) return end;
  end.reason = reason;
  const q850 = q850FromReason(reason);
  const sip = sipCauseFromReason(reason);
  const words = /;\s*text\s*=\s*"([^"]*)"/i.exec(reason)?.[1];
  if (q850 !== undefined) end.q850 = q850;
  // Normal clearing (16, 31) says nothing beyond the method itself: a CANCEL with it is still `cancelled`.
  if (q850 !== undefined && causeFromQ850(q850) !== 'failed' && causeFromQ850(q850) !== 'normal') {
    end.cause = causeFromQ850(q850);
    text += `: Q.850 cause ${q850}${words ? ` (${words})` : ''}`;
  } else if (sip !== undefined && sip >= 300) {
    end.cause = causeFromSipCode(sip);
    text += `: SIP ${sip}${words ? ` (${words})` : ''}`;
  } else if (sip === 200 && method === 'CANCEL') {
    text = 'the call was answered elsewhere';
  }
  end.text = text;
  return end;
}

/**
 * The Q.850 cause for a SIP status (RFC 3398 §8.2.6.1, the table gateways use from SIP to ISUP):
 * the `Reason: Q.850` of a refusal the flow gave as a code, and the cause an AT line signals for it.
 */
export function q850ForSipCode(code: number): number {
  const table: Readonly<Record<number, number>> = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22, 413: 127, 414: 28, 415: 79,
    416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41, 482: 25, 483: 25, 484: 28, 485: 1, 486: 17, 487: 127, 488: 127,
    500: 41, 501: 79, 502: 38, 503: 41, 504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
  };
  return table[code] ?? (code >= 500 ? 41 : 31);
}

/** The SIP response that rejects an incoming call for a hangup signal of the contract. */
export function rejectCodeFor(signal: HangupCause): number {
  switch (signal) {
    case 'busy':
      return 486;
    case 'unavailable':
      return 480;
    case 'changed-number':
      return 410;
    case 'out-of-order':
      return 502;
    case 'no-circuit':
      return 503;
    case 'barred':
      return 403;
    default:
      return 603;
  }
}
