import type { Call, CallReport } from '../call/call';
import { CallState } from '../call/call-state';
import { AnalysisOptions, analysisIsIdle, checkAnalysisOptions, FarEndResult } from '../capabilities/analysis';
import { CallStateError } from '../errors';
import type { VoiceLine } from './voice-line';

/** What the line knows of one call's analysis: whether a far-end verdict is coming, and what it was. */
interface Tracked {
  /** A far-end verdict may still come (detection on, not stopped, not given yet). */
  detecting: boolean;
  result: FarEndResult | null;
  waiters: ((result: FarEndResult | null) => void)[];
}

/**
 * The line's call analysis (docs/call-analysis.md, "In a call"): starts and stops it on a call through
 * the backend's `analysis` capability (lib/capabilities/analysis.ts), and keeps each call's far-end
 * verdict for nodes that wait for it ({@link result}). The results themselves are the call's reports
 * (`far-end`, `beep`, `greeting-end`, `tone`), which the line sends as events like `dtmf`.
 */
export class LineAnalysis {
  private readonly tracked = new Map<string, Tracked>();

  constructor(readonly line: VoiceLine) {}

  /**
   * Starts analysing a call's received audio (`ref`: a call id, a call snapshot, or nothing for the
   * line's only call in progress): `options` as {@link checkAnalysisOptions} takes them (an object,
   * or `"machine"` / `"off"`), the defaults for what is left out. The call must be connected (or an
   * outgoing call in early media). A new start replaces what runs on the call. NotSupportedError on
   * a line without the call's audio, CallStateError on a call that is not in progress.
   */
  async start(ref: unknown, options: unknown = {}): Promise<Call> {
    const checked = checkAnalysisOptions(options);
    const call = this.line.resolveCall(ref, 'analyse', hearsFarEnd);
    if (!hearsFarEnd(call)) {
      throw new CallStateError(`call ${call.id} is ${call.state}: call analysis runs on a connected call, or an outgoing one in early media`);
    }
    const analysis = this.line.capability('analysis', 'call analysis');
    this.stopTracking(call);
    await analysis.start(call, checked);
    this.track(call, checked);
    return call;
  }

  /** Stops the analysis of a call (nothing more is reported); a waiting {@link result} resolves null. */
  stop(ref: unknown): Call {
    const call = this.line.resolveCall(ref, 'stop analysing', hearsFarEnd);
    this.line.capability('analysis', 'call analysis').stop(call);
    this.stopTracking(call);
    return call;
  }

  /**
   * The far-end verdict of a call: the `far-end` report's payload, at once when it came already, or
   * when it comes; null when the call ends first, or when no far-end detection runs on it.
   */
  result(ref: unknown): Promise<FarEndResult | null> {
    const id = typeof ref === 'string' ? ref : ref && typeof ref === 'object' ? (ref as { id?: unknown }).id : undefined;
    const known = typeof id === 'string' ? this.tracked.get(id) : undefined;
    if (!known) {
      // Checks the reference (an error for a malformed one); a call of this line without analysis has no verdict.
      if (typeof id !== 'string') this.line.resolveCall(ref, 'read the analysis of', () => true);
      return Promise.resolve(null);
    }
    if (known.result || !known.detecting) return Promise.resolve(known.result);
    return new Promise((resolve) => known.waiters.push(resolve));
  }

  /**
   * Follows a call whose analysis the backend runs now (started here, or by a dial with `analysis`,
   * VoiceLine.dial): its far-end report is kept until the call ends.
   */
  track(call: Call, options: AnalysisOptions): void {
    if (call.ended || analysisIsIdle(options)) return;
    const t: Tracked = { detecting: options.detect === 'machine', result: null, waiters: [] };
    this.tracked.set(call.id, t);
    const onReport = (r: CallReport): void => {
      if (r.topic !== 'far-end' || this.tracked.get(call.id) !== t || t.result) return;
      t.result = r.payload as unknown as FarEndResult;
      t.detecting = false;
      settle(t);
    };
    call.on('report', onReport);
    call.once('ended', () => {
      call.off('report', onReport);
      if (this.tracked.get(call.id) === t) this.tracked.delete(call.id);
      t.detecting = false;
      settle(t);
    });
  }

  private stopTracking(call: Call): void {
    const t = this.tracked.get(call.id);
    if (!t) return;
    this.tracked.delete(call.id);
    t.detecting = false;
    settle(t);
  }
}

function settle(t: Tracked): void {
  for (const w of t.waiters.splice(0)) w(t.result);
}

/** A call whose far end we hear: connected, held (its audio may come back), or an outgoing call's early media. */
function hearsFarEnd(call: Call): boolean {
  return call.state === CallState.Active || call.state === CallState.Held || call.state === CallState.EarlyMedia;
}
