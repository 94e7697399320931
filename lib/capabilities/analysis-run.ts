import type { AnalysisEvent } from '../analysis/analyser';
import type { AnalysisHandle, AnalysisSink } from '../analysis/analysis-host';
import type { HangupRequest, Logger } from '../backend';
import type { Call, CallTransition } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import type { AnalysisOptions } from './analysis';

/** What a run needs of its backend. */
export interface AnalysisRunHost {
  /** Ends a call (the backend's own hangup: a dial is cancelled). */
  hangup(call: Call, request: HangupRequest): Promise<void>;
  log: Logger;
  /** For log lines: `sip analysis`, `at analysis`. */
  what: string;
  /** The run stopped (the call ended, it was stopped, or the analysers are done): the backend forgets it. */
  stopped(run: AnalysisRun): void;
}

/**
 * One call's analysis as both backends run it (lib/sip/sip-analysis.ts, lib/at/features/analysis.ts),
 * whatever hosts the analysers (a media's {@link AnalysisHandle}): the call's answer is passed on,
 * each result becomes `call.report(topic, payload)` (the AnalysisCapability contract), a SIT heard
 * before the answer ends the dial when `sitEndsCall` says so ({@link sitHangup}), and it stops when
 * the call ends.
 */
export class AnalysisRun implements AnalysisSink {
  private handle: AnalysisHandle | null = null;
  private over = false;

  constructor(
    readonly call: Call,
    readonly options: AnalysisOptions,
    private readonly host: AnalysisRunHost,
  ) {
    call.on('transition', this.onTransition);
    call.once('ended', this.onEnded);
  }

  get stopped(): boolean {
    return this.over;
  }

  /** The analysers run now, fed by `handle`'s host (the call's media). */
  attach(handle: AnalysisHandle): void {
    if (this.over) {
      handle.stop();
      return;
    }
    this.handle = handle;
    if (this.call.state === CallState.Active || this.call.state === CallState.Held) handle.answered();
  }

  event(e: AnalysisEvent): void {
    if (this.over) return;
    const { call, host } = this;
    const { topic, ...payload } = e;
    call.report(topic, payload);
    if (e.topic !== 'tone' || e.tone !== 'sit' || !this.options.sitEndsCall) return;
    if (call.direction !== 'outbound' || !isAlerting(call.state)) return; // answered: reported only
    const request = sitHangup(e.evidence);
    host.log.info(`${host.what}: call ${call.id}: ${request.text}: ending the dial`);
    host.hangup(call, request).catch((err: Error) => host.log.warn(`${host.what}: call ${call.id}: ending the dial on a SIT failed: ${err.message}`));
  }

  /** Stops it: nothing more is reported. Idempotent. */
  stop(): void {
    if (this.over) return;
    this.over = true;
    this.call.off('transition', this.onTransition);
    this.call.off('ended', this.onEnded);
    this.handle?.stop();
    this.host.stopped(this);
  }

  private readonly onTransition = (t: CallTransition): void => {
    if (t.to === CallState.Active) this.handle?.answered();
  };

  private readonly onEnded = (): void => this.stop();
}

/**
 * How a dial ends on a SIT (`evidence` of the `tone` event: its Telcordia `code` and `endCause`): by
 * us, with the tone's cause, the reason naming the code; the cancel carries Q.850 1 (unallocated
 * number) for `not-found`, 20 (subscriber absent) for `unavailable`.
 */
export function sitHangup(evidence: Record<string, unknown>): HangupRequest {
  const notFound = evidence.endCause === 'not-found';
  const code = typeof evidence.code === 'string' ? evidence.code : 'unknown';
  return {
    signal: notFound ? 'normal' : 'unavailable',
    endCause: notFound ? 'not-found' : 'unavailable',
    ...(notFound ? { q850: 1 } : {}),
    text: `special information tone (SIT ${code}) heard before the answer: ${notFound ? 'the number is not in service' : 'the network cannot complete the call now'}`,
  };
}
