import { Cause, EndInfo, EndedBy, causeFromQ850 } from '../call/cause';

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
    case 500:
    case 502:
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

/**
 * What ended a call, from a SIP final response: the cause from the code, the raw code, the `Reason`
 * header kept as received and its Q.850 value. A Reason carried by a final response wins only where the
 * code says nothing precise (a 5xx or an unknown code), since the code is the SIP answer.
 */
export function endFromResponse(
  response: { statusCode: number; reasonPhrase?: string; reason?: string; synthetic?: boolean },
  by: EndedBy,
  ringTimeoutFired = false,
): EndInfo {
  const { statusCode, reasonPhrase, reason, synthetic } = response;
  let cause = causeFromSipCode(statusCode, { ringTimeoutFired, synthetic });
  const q850 = q850FromReason(reason);
  if (q850 !== undefined && (cause === 'failed' || cause === 'congestion') && causeFromQ850(q850) !== 'failed') cause = causeFromQ850(q850);
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

/** A BYE or CANCEL's `Reason` header → the end it describes (`normal` / `cancelled` when it says nothing more). */
export function endFromRequest(method: 'BYE' | 'CANCEL', reason: string | undefined, fallback: Cause): EndInfo {
  const end: EndInfo = { cause: fallback, by: 'remote', text: method === 'BYE' ? 'the other side hung up' : 'the caller gave up before answer' };
  if (reason) end.reason = reason;
  const q850 = q850FromReason(reason);
  if (q850 !== undefined) end.q850 = q850;
  return end;
}

/** The SIP response that rejects an incoming call for a hangup signal of the contract. */
export function rejectCodeFor(signal: 'normal' | 'busy' | 'rejected' | 'unavailable'): number {
  switch (signal) {
    case 'busy':
      return 486;
    case 'unavailable':
      return 480;
    default:
      return 603;
  }
}
