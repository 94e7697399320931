import type { VoiceLine } from './voice-line';

/**
 * The line's DTMF: send digits, and collect them (per-digit events and gathers). Validates what a flow gives, resolves the call, and calls the backend's
 * `dtmf` capability (`line.capability('dtmf', ...)`).
 */
export class LineDtmf {
  constructor(readonly line: VoiceLine) {}
}
