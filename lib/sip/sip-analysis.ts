import type { Session } from 'sip.js';
import type { Call } from '../call/call';
import type { AnalysisCapability, AnalysisOptions } from '../capabilities/analysis';
import { AnalysisRun } from '../capabilities/analysis-run';
import { CallStateError } from '../errors';
import type { RtpMedia } from '../media-engine/rtp-media';
import { RtpDescriptionHandler, whenMedia } from './rtp-description-handler';
import type { SipCallContext } from './sip-call-context';

/** What the SIP analysis capability needs of the backend: a call's session, hanging up, the line's name, a log. */
export type SipAnalysisContext = Pick<SipCallContext, 'sessionOf' | 'hangup' | 'description' | 'log'>;

/**
 * Call analysis on a SIP line (docs/call-analysis.md, "In a call"): a CallAnalyser on the call's
 * received RTP audio, where its media runs (RtpMedia.analyse: in the main thread with
 * `mediaWorkers: 0`, else in the call's media worker, whose batches bring the results back).
 *
 * A dial with `analysis` ({@link dialled}) starts it with the call's media (sip.js makes it while
 * sending the INVITE), so the network's tones in early media are heard from their first frame;
 * {@link start} starts it on a call in progress. Reports, the answer, a SIT ending the dial and the
 * end: lib/capabilities/analysis-run.ts.
 */
export class SipAnalysis implements AnalysisCapability {
  readonly name = 'analysis';
  private readonly runs = new Map<Call, { run: AnalysisRun; unwatch: () => void }>();

  constructor(private readonly ctx: SipAnalysisContext) {}

  /** Starts the analysis of a call in progress (replacing one that runs). CallStateError when it has ended or has no media. */
  async start(call: Call, options: AnalysisOptions): Promise<void> {
    if (call.ended) throw new CallStateError(`call ${call.id} has ended: it cannot be analysed`);
    const session = this.ctx.sessionOf(call);
    const media = session && RtpDescriptionHandler.of(session)?.session;
    if (!session || !media || media.closed) throw new CallStateError(`call ${call.id} has no media yet (${this.ctx.description()}): it cannot be analysed`);
    this.begin(call, session, options);
  }

  /** A dial with `analysis`: it starts as soon as the call's media exists (before the INVITE leaves). */
  dialled(call: Call, session: Session, options: AnalysisOptions): void {
    this.begin(call, session, options);
  }

  stop(call: Call): void {
    this.runs.get(call)?.run.stop();
  }

  private begin(call: Call, session: Session, options: AnalysisOptions): void {
    this.stop(call);
    const run: AnalysisRun = new AnalysisRun(call, options, {
      hangup: (c, request) => this.ctx.hangup(c, request),
      log: this.ctx.log,
      what: 'sip analysis',
      stopped: () => {
        const entry = this.runs.get(call);
        if (entry?.run !== run) return;
        this.runs.delete(call);
        entry.unwatch();
      },
    });
    const unwatch = whenMedia(session, (media) => {
      try {
        run.attach(media.analyse(options, run));
      } catch (err) {
        // (The analysers could not be built: the call goes on without them.)
        this.ctx.log.warn(`sip analysis: call ${call.id}: the analysis could not start: ${(err as Error).message}`);
        run.stop();
      }
    });
    this.runs.set(call, { run, unwatch });
  }
}
