import type { AnalysisEvent } from '../analysis/analyser';
import type { Call } from '../call/call';
import { InvalidInputError } from '../errors';
import { describe, printable } from '../validate';

/**
 * Call analysis on a line (issue 13, docs/call-analysis.md "In a call"): who answered (a person, an
 * answering machine, a fax), the end of a machine's greeting (its beep, or silence / a timeout), and
 * the network's tones heard before the answer (busy, congestion, SIT), judged on the call's received
 * audio by lib/analysis/call-analyser.ts.
 *
 * Results are reported on the call as `call.report(topic, payload)` with the topics of
 * {@link ANALYSIS_TOPICS} (`far-end`, `beep`, `greeting-end`, `tone`), their payloads lib/analysis
 * analyser.ts's `AnalysisEvent` without its `topic` (`atMs` kept: when, in the analysed audio,
 * counted in 20 ms frames from the start of the analysis). The line turns them into events as it
 * does `dtmf` (voice-events).
 */
export interface AnalysisOptions {
  /** `machine`: say who answered (far-end, then beep / greeting-end); `off`: only network tones (when `tones`). */
  detect: 'off' | 'machine';
  /** The far-end verdict's timeout, ms (default 5000, 1000–30000): `unknown` when nothing was decided by then. */
  timeoutMs: number;
  /** The far-end classifier starts at the answer (default), or with the first audio (`connect`: early media included). */
  start: 'answer' | 'connect';
  /** Report busy / congestion / SIT heard before the answer (default true). */
  tones: boolean;
  /** A SIT ends the dial with its cause, `not-found` or `unavailable` (default true). */
  sitEndsCall: boolean;
}

/**
 * Analysing a call's received audio. A backend offers it when its calls' audio reaches us (SIP: the
 * call's RTP; AT: a module with a PCM port).
 *
 * A backend:
 * - MUST report each result once, as `call.report(topic, payload)` ({@link ANALYSIS_TOPICS}), while
 *   the call is in progress, and nothing after {@link stop} or the call's end;
 * - MUST count time in frames of the received audio (one 20 ms frame per media tick, silence when
 *   nothing arrived), never by a clock of its own;
 * - with `sitEndsCall`, MUST end an outgoing call that is not answered yet when a SIT is heard, by
 *   us (`by: "local"`), with the tone's cause (`not-found` / `unavailable`) and a reason naming the
 *   SIT's code;
 * - MUST stop analysing when the call ends.
 */
export interface AnalysisCapability {
  /**
   * Starts analysing a call's received audio (options validated with {@link checkAnalysisOptions}); a
   * new start replaces the analysis running on the call. NotSupportedError when the line has no audio
   * path (AT without PCM port). CallStateError when ended.
   */
  start(call: Call, options: AnalysisOptions): Promise<void>;
  /** Stops it (nothing more reported). */
  stop(call: Call): void;
}

/** The call report topics of call analysis (events of the same names, design.md §3.1). */
export const ANALYSIS_TOPICS = ['far-end', 'beep', 'greeting-end', 'tone'] as const;
export type AnalysisTopic = (typeof ANALYSIS_TOPICS)[number];

/** The defaults of every option. */
export const ANALYSIS_DEFAULTS: Readonly<AnalysisOptions> = Object.freeze({
  detect: 'machine',
  timeoutMs: 5000,
  start: 'answer',
  tones: true,
  sitEndsCall: true,
});

export const MIN_ANALYSIS_TIMEOUT_MS = 1000;
export const MAX_ANALYSIS_TIMEOUT_MS = 30_000;

const OPTION_NAMES = Object.keys(ANALYSIS_DEFAULTS) as (keyof AnalysisOptions)[];

/**
 * A flow's analysis options, checked, with the defaults (`defaults`, else {@link ANALYSIS_DEFAULTS})
 * for what it leaves out: an object with any of the option names, or the shorthand `"machine"` /
 * `"off"` for `detect`; undefined or null: the defaults. A numeric string is accepted for
 * `timeoutMs` (an editor field). Anything else is an InvalidInputError that names the option.
 */
export function checkAnalysisOptions(value: unknown, defaults: Partial<AnalysisOptions> = {}): AnalysisOptions {
  const base: AnalysisOptions = { ...ANALYSIS_DEFAULTS, ...defaults };
  if (value === undefined || value === null) return checkAnalysisOptions(base);
  if (typeof value === 'string') return checkAnalysisOptions({ ...base, detect: value });
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError(`the call analysis options must be "machine", "off" or an object with ${OPTION_NAMES.join(', ')}, got ${describe(value)}`);
  }
  const given = value as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !(OPTION_NAMES as string[]).includes(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(`the call analysis options have no ${unknown.map((k) => `"${printable(k, 30)}"`).join(', ')}: use ${OPTION_NAMES.join(', ')}`);
  }
  const pick = <K extends keyof AnalysisOptions>(k: K): unknown => (given[k] === undefined ? base[k] : given[k]);
  const detect = pick('detect');
  if (detect !== 'machine' && detect !== 'off') {
    throw new InvalidInputError(`call analysis "detect" must be "machine" (say who answered) or "off", got ${describe(detect)}`);
  }
  const rawTimeout = pick('timeoutMs');
  const timeoutMs = typeof rawTimeout === 'string' && rawTimeout.trim() !== '' ? Number(rawTimeout) : rawTimeout;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < MIN_ANALYSIS_TIMEOUT_MS || timeoutMs > MAX_ANALYSIS_TIMEOUT_MS) {
    throw new InvalidInputError(
      `call analysis "timeoutMs" must be a number of milliseconds from ${MIN_ANALYSIS_TIMEOUT_MS} to ${MAX_ANALYSIS_TIMEOUT_MS}, got ${describe(rawTimeout)}`,
    );
  }
  const start = pick('start');
  if (start !== 'answer' && start !== 'connect') {
    throw new InvalidInputError(`call analysis "start" must be "answer" or "connect" (from the first audio, early media included), got ${describe(start)}`);
  }
  const flag = (k: 'tones' | 'sitEndsCall'): boolean => {
    const v = pick(k);
    if (typeof v !== 'boolean') throw new InvalidInputError(`call analysis "${k}" must be true or false, got ${describe(v)}`);
    return v;
  };
  // Whole milliseconds: the analysers count 20 ms frames.
  return { detect, timeoutMs: Math.round(timeoutMs), start, tones: flag('tones'), sitEndsCall: flag('sitEndsCall') };
}

/** True when the options ask for nothing (detection off and no network tones): there is nothing to run. */
export function analysisIsIdle(options: AnalysisOptions): boolean {
  return options.detect === 'off' && !options.tones;
}

/** The far-end verdict as a flow gets it (the `far-end` report's payload): `line.analysis.result()`. */
export type FarEndResult = Omit<Extract<AnalysisEvent, { topic: 'far-end' }>, 'topic'>;
