import type { VoiceLine } from './voice-line';

/**
 * The line's call and audio control: hold, resume, swap, mute, volume, audio channel, auto-answer and auto-reject at run time. Validates what a flow gives, resolves the call, and calls the backend's
 * `control` capability (`line.capability('control', ...)`).
 */
export class LineControl {
  constructor(readonly line: VoiceLine) {}
}
