/**
 * One call's analysis: the far-end classifier (far-end.ts) and the tone detectors (voicemail beep,
 * fax CNG / CED, network tones: any `FrameAnalyser`s, given to the constructor) run on the same
 * frames, and the rules between their results are applied here, so that a flow sees one story:
 *
 * - exactly one `far-end` event: the classifier's, or `fax` when a fax detector reports it first,
 *   or `machine` (cause `beep`) when a beep is heard before any verdict;
 * - for a machine, exactly one end of its greeting: the first `beep` after the verdict, or the
 *   classifier's `greeting-end` (silence / timeout) if no beep came first; later beeps are not reported;
 * - after a `human` or `unknown` verdict the beep detector keeps listening as long as a machine's
 *   greeting is waited for (`greetingTimeoutMs`, 30 s from the classifier's start): a beep then is a
 *   greeting that was taken for a person (a short phrase and a pause). It is reported once, with
 *   `afterVerdict` (the verdict sent), so a flow can still leave its message; the verdict is not sent
 *   again. Speech and music give no beep (docs/benchmarks.md: none in 240 files);
 * - network `tone` events pass through from the first frame (early media) to the end, or to the
 *   answer (`networkTonesUntil: "answer"`);
 * - a beep heard while a network tone detector is `pending` (it has heard a SIT's first segment,
 *   which is also a tone of 440–2000 Hz longer than 150 ms) is held: dropped when the SIT is
 *   reported, passed on (late by at most 90 ms) when the SIT does not go on. This only matters with
 *   `start: "connect"`, when the beep detector hears early media.
 *
 * Options: `detect` (`machine`: classify; `off`: only network tones), `timeoutMs` (the verdict's
 * timeout), `start` (`answer`: the classifier, the beep and the fax detectors start with the frame
 * after `answered()`; `connect`: with the first frame, early media included). A `FrameAnalyser` itself, so a media worker hosts it
 * like any other. Detectors that answer the far-end question (beep, fax) are fed until it is
 * settled; network tone detectors until they are done.
 */
import { AnalysisEvent, FarEnd, FrameAnalyser } from './analyser';
import { FarEndAnalyser, FarEndOptions } from './far-end';
import { checkOneOf, checkOptions } from '../media/check-option';

export interface CallAnalyserOptions {
  /** `machine`: say who answered (default); `off`: no far-end verdict, beep or greeting end. */
  detect?: 'machine' | 'off';
  /** The far-end verdict's timeout, ms (default 5000). */
  timeoutMs?: number;
  /** When the far-end classifier starts: at the `answered()` call (default) or with the first frame. */
  start?: 'answer' | 'connect';
  /** The classifier's other options (far-end.ts), or a classifier made by the caller (then `timeoutMs` is its own, not the one above). */
  farEnd?: Omit<FarEndOptions, 'timeoutMs'> | FarEndAnalyser;
  /** Detectors whose events answer the far-end question: the beep detector, the fax tone detectors. */
  detectors?: FrameAnalyser[];
  /** Network tone detectors (busy, congestion, SIT): their `tone` events pass through. */
  networkTones?: FrameAnalyser[];
  /** Until when the network tone detectors listen: to the end (default), or until `answered()` (tones heard before the answer only). */
  networkTonesUntil?: 'end' | 'answer';
}

/**
 * `listening`: no verdict yet; `greeting`: a machine, waiting for its greeting's end; `late-beep`: a
 * person or unknown, only a beep still reported until {@link CallAnalyser.lateBeepUntilMs}.
 */
type Stage = 'listening' | 'greeting' | 'late-beep' | 'settled';

export class CallAnalyser implements FrameAnalyser {
  private readonly farEnd: FarEndAnalyser | null;
  private readonly detectors: FrameAnalyser[];
  private readonly networkTones: FrameAnalyser[];
  private readonly startAtAnswer: boolean;
  private readonly tonesUntilAnswer: boolean;
  private answeredYet = false;
  private stage: Stage;
  /** The verdict sent, if any. */
  private verdict: FarEnd | null = null;
  /** Beeps heard while a network tone detector was pending, not yet passed on. */
  private held: AnalysisEvent[] = [];
  /** In stage `late-beep`: the frame time (ms) after which no beep is reported. */
  private lateBeepUntilMs = 0;

  constructor(options?: CallAnalyserOptions) {
    const o = checkOptions('CallAnalyser', options);
    const detect = checkOneOf('detect', o.detect ?? 'machine', ['machine', 'off'] as const);
    this.startAtAnswer = checkOneOf('start', o.start ?? 'answer', ['answer', 'connect'] as const) === 'answer';
    this.tonesUntilAnswer = checkOneOf('networkTonesUntil', o.networkTonesUntil ?? 'end', ['end', 'answer'] as const) === 'answer';
    for (const [name, list] of [['detectors', o.detectors], ['networkTones', o.networkTones]] as const) {
      if (list !== undefined && (!Array.isArray(list) || list.some((a) => typeof a?.push !== 'function'))) {
        throw new TypeError(`"${name}" must be an array of frame analysers`);
      }
    }
    if (o.farEnd instanceof FarEndAnalyser && o.timeoutMs !== undefined) throw new TypeError('"timeoutMs" is the classifier\'s own option when "farEnd" is a FarEndAnalyser');
    this.networkTones = [...(o.networkTones ?? [])];
    if (detect === 'off') {
      this.farEnd = null;
      this.detectors = [];
      this.stage = 'settled';
    } else {
      this.farEnd = o.farEnd instanceof FarEndAnalyser ? o.farEnd : new FarEndAnalyser({ ...o.farEnd, timeoutMs: o.timeoutMs });
      this.detectors = [...(o.detectors ?? [])];
      this.stage = 'listening';
    }
  }

  /** The call was answered: with `start: "answer"`, the far-end classifier hears the frames from now on. */
  answered(): void {
    this.answeredYet = true;
    if (this.tonesUntilAnswer) this.networkTones.length = 0;
  }

  /** The far-end verdict sent so far (null: none yet, or `detect: "off"`). */
  get farEndVerdict(): FarEnd | null {
    return this.verdict;
  }

  get done(): boolean {
    return this.stage === 'settled' && this.networkTones.every((a) => a.done);
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    const out: AnalysisEvent[] = [];
    let sit = false;
    for (const a of this.networkTones) {
      if (a.done) continue;
      for (const e of a.push(frame, atMs)) {
        if (e.topic !== 'tone') continue;
        out.push(e);
        sit ||= e.tone === 'sit';
      }
    }
    // The beeps held were the SIT's segments.
    if (sit) this.held = [];
    const pending = this.networkTones.some((a) => !a.done && a.pending === true);
    if (this.stage === 'settled') return out;
    // Tone detectors first: a beep or a fax tone ending on this frame outranks what the classifier
    // decides on the same frame (it heard the tone as voice).
    // With start "answer" the beep and fax detectors wait for the answer too: before it come the
    // network's tones (a CEPT ringback, a SIT's first segment), which a beep detector would take.
    if (!this.answeredYet && this.startAtAnswer) return out;
    const heard: AnalysisEvent[] = [];
    for (const a of this.detectors) if (!a.done) heard.push(...a.push(frame, atMs));
    const farEnd = this.farEnd as FarEndAnalyser;
    if (!farEnd.done) heard.push(...farEnd.push(frame, atMs));
    // A fax verdict goes before a beep ending on the same frame: a CNG burst is also a tone the
    // beep detector accepts (1100 Hz, 0.5 s), and the fax analyser names it fax only when little
    // else was heard before it (lib/analysis/fax.ts).
    const isFax = (e: AnalysisEvent): boolean => e.topic === 'far-end' && e.farEnd === 'fax';
    const ordered = [...heard.filter(isFax), ...heard.filter((e) => !isFax(e))];
    if (pending) {
      this.held.push(...ordered.filter((e) => e.topic === 'beep'));
      for (const e of ordered) if (e.topic !== 'beep') this.apply(e, out);
      return out;
    }
    const held = this.held;
    this.held = [];
    for (const e of [...held, ...ordered]) this.apply(e, out);
    if (this.stage === 'late-beep' && atMs >= this.lateBeepUntilMs) this.settle();
    return out;
  }

  /** Stops everything (the call ended): frees the classifier's VAD. */
  stop(): void {
    this.settle();
    this.networkTones.length = 0;
  }

  private apply(e: AnalysisEvent, out: AnalysisEvent[]): void {
    if (this.stage === 'settled') return;
    switch (e.topic) {
      case 'far-end':
        if (this.verdict !== null) return; // one verdict: a later one (a fax tone heard late) is not sent
        this.verdict = e.farEnd;
        out.push(e);
        if (e.farEnd === 'machine') this.stage = 'greeting';
        else if (e.farEnd === 'human' || e.farEnd === 'unknown') this.listenForLateBeep(e.atMs - e.decisionMs);
        else this.settle();
        return;
      case 'beep':
        if (this.verdict === null) {
          // A beep before any verdict: only machines beep.
          const farEnd = this.farEnd as FarEndAnalyser;
          out.push({ topic: 'far-end', farEnd: 'machine', evidence: { cause: 'beep', frequencyHz: e.frequencyHz, durationMs: e.durationMs }, decisionMs: farEnd.elapsedMs, atMs: e.atMs });
          this.verdict = 'machine';
        }
        if (this.verdict === 'machine') {
          out.push(e);
          this.settle();
        } else if (this.stage === 'late-beep') {
          out.push({ ...e, afterVerdict: this.verdict as 'human' | 'unknown' });
          this.settle();
        }
        return;
      case 'greeting-end':
        if (this.verdict === 'machine') {
          out.push(e);
          this.settle();
        }
        return;
      case 'tone':
        out.push(e);
        return;
    }
  }

  /**
   * A person or unknown: the classifier is done (its VAD freed); the beep detector goes on until a
   * machine's greeting would have ended (`startedAtMs`: the classifier's first frame).
   */
  private listenForLateBeep(startedAtMs: number): void {
    const farEnd = this.farEnd as FarEndAnalyser;
    this.lateBeepUntilMs = startedAtMs + farEnd.greetingTimeoutMs;
    farEnd.stop();
    this.stage = 'late-beep';
  }

  private settle(): void {
    this.stage = 'settled';
    this.held = [];
    this.farEnd?.stop();
    this.detectors.length = 0;
  }
}
