import type { AnalysisOptions } from '../../lib/capabilities/analysis';
import { FlowError } from './flow-error';

/** The call-analysis settings of a node as the editor saves them (`voice-dial`, `voice-detect`). */
export interface AnalysisSettingsDef {
  /** `off` | `machine`. */
  detect?: string;
  /** The far-end verdict's timeout, in seconds. */
  detectTimeout?: string | number;
  /** `answer` | `connect`. */
  detectStart?: string;
  tones?: boolean;
  sitEndsCall?: boolean;
}

/**
 * A node's analysis settings as `AnalysisOptions` (seconds → ms). A setting the flow left out (a flow
 * saved before they existed, or written by hand) is left out here too, so the line's default applies;
 * values are passed as they are for the line to check (`checkAnalysisOptions`), never fixed up here.
 */
export function analysisSettings(def: AnalysisSettingsDef): Partial<AnalysisOptions> {
  const out: Record<string, unknown> = {};
  const given = (v: unknown): boolean => v !== undefined && v !== null && String(v).trim() !== '';
  if (given(def.detect)) out.detect = def.detect;
  if (given(def.detectTimeout)) {
    const s = Number(def.detectTimeout);
    out.timeoutMs = Number.isFinite(s) ? Math.round(s * 1000) : def.detectTimeout;
  }
  if (given(def.detectStart)) out.start = def.detectStart;
  if (def.tones !== undefined) out.tones = def.tones;
  if (def.sitEndsCall !== undefined) out.sitEndsCall = def.sitEndsCall;
  return out as Partial<AnalysisOptions>;
}

/**
 * `msg.detect` over a node's settings: `"machine"` or `"off"` (the detect choice alone), an object with
 * the option names (`{ "detect": "machine", "timeoutMs": 8000 }`), or nothing. The line checks the result.
 */
export function withMessageDetect(settings: Partial<AnalysisOptions>, value: unknown): Partial<AnalysisOptions> {
  if (value === undefined || value === null) return settings;
  if (typeof value === 'string') return { ...settings, detect: value as AnalysisOptions['detect'] };
  if (typeof value === 'object' && !Array.isArray(value)) return { ...settings, ...(value as Partial<AnalysisOptions>) };
  throw new FlowError(
    'msg.detect must be "machine", "off" or an object such as { "detect": "machine", "timeoutMs": 8000 }',
    'EINVAL',
  );
}
