/**
 * How a call on the module ended: the evidence (our own request, the Q.850 cause of a `^DSCI`
 * release, the call progress result, `AT+CEER`) turned into the {@link EndInfo} of its `ended` event.
 * The table of calls (call-table.ts) decides THAT a call ended; this file works out WHY.
 */
import { Call, CallInfo } from '../call/call';
import { Cause, EndInfo, causeFromQ850 } from '../call/cause';
import { HangupRequest } from '../backend';
import { AtChannel, AtError } from './at-channel';
import { parseCeer, q850FromText } from './urc-parsers';

/** The call progress results (27.007 §6.2 / V.250): the final result of `ATD`, a URC otherwise. */
export const CALL_FINALS: readonly string[] = ['NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE'];

/** What the backend knows of a call when it ends (a part of the call table's record). */
export interface EndEvidence {
  readonly call: Call;
  /** Set when the flow asked to end the call: the end is then ours, with this cause. */
  hangup?: HangupRequest;
  /** Q.850 cause the modem gave with the release (^DSCI), if any. */
  q850?: number;
  /** The port was lost while this call was up: if it is gone after the reconnect, we cannot know why. */
  lostContact?: boolean;
  /**
   * The call progress result about this call (`BUSY`, `NO ANSWER`, `NO CARRIER`, `NO DIALTONE`): its
   * own `ATD`'s final, or one no command owned that came while it was the only call (or the only
   * one being released). Evidence of how it ended, never a reason to end it.
   */
  progress?: string;
  /** Its `ATD` failed without a call progress result (`ERROR`, `+CME ERROR`, a timeout). */
  refused?: AtError;
}

/** The module's commands that tell how a call ended; null while the line is not ready. */
export interface EndQueries {
  channel(): AtChannel | null;
}

/**
 * Works out how `rec` ended. The channel is ordered: the answer to one command sent after the
 * release follows whatever the module printed about it (`BUSY` after an ASR `^DSCI` release,
 * `NO CARRIER` after our own), which meanwhile lands in `rec.progress` (see the call table). That
 * command is `AT+CEER` when the cause is still unknown, else a bare `AT+CLCC` round trip, unless the
 * release was seen in an AT+CLCC answer already (`fenced`).
 */
export async function workOutEnd(rec: EndEvidence, fenced: boolean, q: EndQueries): Promise<EndInfo> {
  if (rec.hangup) {
    if (!fenced) await roundTrip(q.channel());
    return { cause: rec.hangup.endCause, by: 'local', text: rec.hangup.text };
  }
  const info: EndInfo = { cause: 'normal', by: 'remote' };
  if (rec.lostContact) {
    info.cause = 'network-error';
    info.text = 'the call ended while the modem was unreachable';
    return info;
  }
  if (rec.refused?.kind === 'error' && rec.progress === undefined) {
    // The module refused the ATD (ERROR, +CME ERROR): it placed no call, so there is nothing to wait
    // for, and AT+CEER would tell of an earlier call.
    return refusal(info, rec.refused, rec.q850);
  }
  let q850 = rec.q850;
  if (q850 === undefined && (rec.progress === undefined || rec.progress === 'NO CARRIER')) {
    const ceer = await queryCeer(q.channel());
    if (ceer) {
      info.ceer = ceer.line;
      q850 = ceer.q850;
    }
  } else if (!fenced) {
    await roundTrip(q.channel());
  }
  q850 ??= rec.q850; // a ^DSCI release with its cause may come after the dial's own final
  const final = rec.progress;
  if (final) info.finalResult = final;
  if (q850 !== undefined) info.q850 = q850;
  if (rec.refused && !final) return refusal(info, rec.refused, q850);
  info.cause = causeOf(rec.call, final, q850);
  info.text = endText(info);
  return info;
}

/** The end of a call whose ATD failed without a call progress result (refused, or no answer in time). */
function refusal(info: EndInfo, e: AtError, q850: number | undefined): EndInfo {
  if (q850 !== undefined) info.q850 = q850;
  info.cause = e.kind === 'timeout' ? 'timeout' : 'failed';
  info.text = `the modem refused the call: ${e.final ?? e.message}`;
  if (e.final) info.finalResult = e.final;
  if (e.cmeCode !== undefined) info.ceer = `+CME ERROR: ${e.cmeCode}`;
  return info;
}

/** One command's answer: everything the module printed before it has been read. */
async function roundTrip(ch: AtChannel | null): Promise<void> {
  if (ch) await ch.send('AT+CLCC', { expect: ['+CLCC:'] }).catch(() => undefined);
}

async function queryCeer(ch: AtChannel | null): Promise<{ line: string; q850?: number } | null> {
  if (!ch) return null;
  try {
    const r = await ch.send('AT+CEER', { expect: ['+CEER:'] });
    const line = r.lines[0];
    if (!line) return null;
    const parsed = parseCeer(line);
    return { line, q850: parsed?.q850 ?? (parsed ? q850FromText(parsed.text) : undefined) };
  } catch {
    return null;
  }
}

/** The cause of a call the remote side or the network ended. */
export function causeOf(call: Call, final: string | undefined, q850: number | undefined): Cause {
  if (final === 'BUSY') return 'busy';
  if (final === 'NO ANSWER') return 'no-answer';
  if (final === 'NO DIALTONE') return 'network-error';
  // NO CARRIER with no cause, or a silent release: normal if the call was up, else it failed.
  const cause = q850 !== undefined ? causeFromQ850(q850) : call.answeredAt ? 'normal' : 'failed';
  // An incoming call released before it was answered: the caller gave up (SIP: CANCEL).
  if (call.direction === 'inbound' && !call.answeredAt && (cause === 'normal' || cause === 'failed')) return 'cancelled';
  return cause;
}

export function endText(info: EndInfo): string {
  const why: Partial<Record<Cause, string>> = {
    normal: 'the other side hung up',
    cancelled: 'the caller hung up before the call was answered',
    busy: 'the number is busy',
    'no-answer': 'no answer',
    rejected: 'the call was rejected',
    'not-found': 'the number does not exist',
    unavailable: 'the other side is unavailable',
    congestion: 'the network is congested',
    'network-error': 'network error',
    failed: 'the call failed',
  };
  return why[info.cause] ?? info.cause;
}

/** The modem's latest report of a call with the status a command's result or a release establishes. */
export function infoAs(rec: { info?: CallInfo }, status: CallInfo['status']): CallInfo | undefined {
  return rec.info && { ...rec.info, status };
}
