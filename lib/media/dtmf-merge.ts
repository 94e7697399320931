import { checkInt, checkOptions } from './check-option';

/** The margin added to a key's duration when matching reports of two sources (ms). */
export const DTMF_MERGE_WINDOW_MS = 500;
/** Longest key duration taken into account (a report claiming more is taken as this). */
const MAX_DURATION_MS = 2000;

export interface DtmfMergeOptions {
  /** The margin added to the key's duration, ms (default {@link DTMF_MERGE_WINDOW_MS}). */
  windowMs?: number;
  /** The clock, ms (default `Date.now`). */
  now?: () => number;
}

/** One key as a source reported it. */
export interface DtmfReport {
  digit: string;
  /** `rfc4733`, `info`, `inband`, ...: reports of the same source are never merged. */
  source: string;
  /** The key's length, when the source says it (tones: measured; INFO: `Duration=`). */
  durationMs?: number;
}

interface Press {
  digit: string;
  at: number;
  durationMs: number;
  /** The sources that reported this press (the first one, then those merged into it). */
  sources: Set<string>;
}

/**
 * One key press, reported once, when a peer sends it more than one way.
 *
 * A SIP call hears keys from up to three sources: RFC 4733 events, SIP INFO, and tones in the audio
 * (in-band detection). A peer normally uses one, but some use two for the same press: a phone set
 * to "RFC 2833 + in-band" sends the events and leaves the tones in the audio, a gateway relays the
 * events while the tones still sound, a misconfigured PBX sends INFO and events. The rule:
 *
 *   **The first report of a key wins. A report of the same key from ANOTHER source, within the key's
 *   duration plus {@link DTMF_MERGE_WINDOW_MS} of it, is the same press and is dropped. Each report
 *   absorbs at most one report of each other source; reports from the same source are never merged
 *   (`11` sent as two events is two presses).**
 *
 * The sources report at different moments of a press: RFC 4733 at its first packet (the key's
 * start), the tone detector when the tone ends (so after `durationMs`), INFO when the message comes
 * (usually at the start). Hence the window: the longer of the two reports' durations (when known)
 * plus a margin for the detector's delay, the reorder buffer and a busy event loop. It errs towards
 * merging: two presses of the same key by two different methods within half a second do not happen
 * in practice, while a press that arrives both ways is common.
 *
 * Time comes from `now()` (injected in tests); the reports of the last few seconds are kept.
 */
export class DtmfMerge {
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Recent presses, oldest first. */
  private readonly presses: Press[] = [];

  constructor(options?: DtmfMergeOptions) {
    const o = checkOptions('DtmfMerge', options);
    this.windowMs = checkInt('windowMs', o.windowMs ?? DTMF_MERGE_WINDOW_MS, 0, 10_000);
    if (o.now !== undefined && typeof o.now !== 'function') throw new TypeError('"now" must be a function returning milliseconds');
    this.now = o.now ?? Date.now;
  }

  /**
   * True when `report` is a new key press (report it), false when it is a press already reported
   * by another source (drop it).
   */
  accept(report: DtmfReport): boolean {
    const at = this.now();
    const durationMs = clampDuration(report.durationMs);
    this.forget(at);
    const same = this.presses.find(
      (p) => p.digit === report.digit && !p.sources.has(report.source) && Math.abs(at - p.at) <= Math.max(p.durationMs, durationMs) + this.windowMs,
    );
    if (same) {
      same.sources.add(report.source);
      same.durationMs = Math.max(same.durationMs, durationMs);
      return false;
    }
    this.presses.push({ digit: report.digit, at, durationMs, sources: new Set([report.source]) });
    return true;
  }

  /** Drops the presses no report can match any more. */
  private forget(at: number): void {
    const horizon = at - (MAX_DURATION_MS + this.windowMs);
    while (this.presses.length > 0 && this.presses[0].at < horizon) this.presses.shift();
  }
}

function clampDuration(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.min(value, MAX_DURATION_MS) : 0;
}
