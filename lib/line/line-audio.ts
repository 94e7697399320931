import type { VoiceLine } from './voice-line';

/**
 * The line's call audio: record to a file and/or stream, play files, buffers and tones. Validates what a flow gives, resolves the call, and calls the backend's
 * `audio` capability (`line.capability('audio', ...)`).
 */
export class LineAudio {
  constructor(readonly line: VoiceLine) {}
}
