import type { VoiceLine } from './voice-line';

/**
 * The line's forwarding: network forwarding rules, divert, blind and attended transfer. Validates what a flow gives, resolves the call, and calls the backend's
 * `forwarding` capability (`line.capability('forwarding', ...)`).
 */
export class LineForwarding {
  constructor(readonly line: VoiceLine) {}
}
