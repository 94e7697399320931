/**
 * Call analysis on a cellular module (docs/call-analysis.md, "In a call"): the call's downlink comes
 * to the host only over the module's PCM port (`AT+QPCMV=1,0`, EC2x/EG2x, lib/at/features/audio-pcm.ts),
 * so only a line with one can analyse its calls. The CallAnalyser runs in the main thread, on the
 * PCM stream's frames: the stream clocks itself (the module sends 8 kHz without pause while a call
 * is connected), every 160 samples are one frame.
 */
import type { HangupRequest } from '../../backend';
import { AnalysisHost, createCallAnalyser } from '../../analysis/analysis-host';
import type { Call } from '../../call/call';
import type { AnalysisCapability, AnalysisOptions } from '../../capabilities/analysis';
import { AnalysisRun } from '../../capabilities/analysis-run';
import { CallStateError, NotSupportedError } from '../../errors';
import type { AtFeatureContext } from '../at-feature';
import type { AtAudio } from './audio';

/** The `analysis` capability of an AT line (its calls end when the line stops, and their analyses with them). */
export class AtAnalysis implements AnalysisCapability {
  private readonly runs = new Map<Call, AnalysisRun>();

  constructor(
    private readonly ctx: AtFeatureContext,
    private readonly audio: AtAudio,
    private readonly hangup: (call: Call, request: HangupRequest) => Promise<void>,
  ) {
    audio.pcm.on('lost', (err: Error) => {
      for (const run of [...this.runs.values()]) {
        ctx.log.warn(`at analysis: call ${run.call.id}: the PCM stream was lost (${err.message}): analysis stopped`);
        run.stop();
      }
    });
  }

  /** Whether the call's audio reaches us: a module with `AT+QPCMV` and a PCM port to read it on (the emulator's, or the `pcmPort` setting). */
  get available(): boolean {
    return this.audio.streamSupport() && (!!this.ctx.device()?.emulator || !!this.ctx.options.pcmPort?.trim());
  }

  /** The refusal of a line without the call's audio. */
  unsupported(): NotSupportedError {
    return new NotSupportedError(`call analysis needs the call's audio; this line (${this.ctx.describeModem()}) has no PCM port`);
  }

  /**
   * A dial's `analysis` before the dial: refused (NotSupportedError) when it asks for far-end
   * detection on a line without the call's audio; false when there is nothing to run here (network
   * tones alone, without audio: silently not run).
   */
  acceptsDial(options: AnalysisOptions): boolean {
    if (this.available) return true;
    if (options.detect === 'machine') throw this.unsupported();
    return false;
  }

  async start(call: Call, options: AnalysisOptions): Promise<void> {
    if (call.ended) throw new CallStateError(`call ${call.id} has ended: it cannot be analysed`);
    if (!this.available) throw this.unsupported();
    await this.begin(call, options);
  }

  /** A dial with `analysis` (after {@link acceptsDial}): it runs from now on; a failure to start is logged, the call goes on. */
  dialled(call: Call, options: AnalysisOptions): void {
    this.begin(call, options).catch((err: Error) => this.ctx.log.warn(`at analysis: call ${call.id}: the analysis could not start: ${err.message}`));
  }

  stop(call: Call): void {
    this.runs.get(call)?.stop();
  }

  private async begin(call: Call, options: AnalysisOptions): Promise<void> {
    this.stop(call);
    const pcm = this.audio.pcm;
    let untap = (): void => undefined;
    const user = {};
    const run: AnalysisRun = new AnalysisRun(call, options, {
      hangup: this.hangup,
      log: this.ctx.log,
      what: 'at analysis',
      stopped: () => {
        if (this.runs.get(call) === run) this.runs.delete(call);
        untap();
        void pcm.release(user);
      },
    });
    this.runs.set(call, run);
    try {
      await pcm.acquire(user);
    } catch (err) {
      run.stop();
      throw err;
    }
    if (run.stopped) return; // the call ended meanwhile: released by stop()
    // Done (every verdict given): the PCM stream is released at once, not at the call's end.
    const host = new AnalysisHost(createCallAnalyser(options), run, () => run.stop());
    untap = pcm.tap((rx) => host.pushStream(rx));
    run.attach(host);
  }
}
