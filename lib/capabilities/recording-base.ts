import type { Call } from '../call/call';
import type { AudioChunk } from '../media/audio-chunker';
import type { Recording, RecordingOptions, RecordingResult } from './audio';
import { CallAudioBase } from './call-audio-base';

/** Why a recording ended, as its result says it. */
export type RecordingEndedBy = RecordingResult['endedBy'];

/**
 * What both backends' recordings share (lib/sip/sip-recording.ts, AtRecording in
 * lib/at/features/audio.ts): the chunk count, stop() (`endedBy: 'stop'`), the call's end
 * (`'call-ended'`) and a failure ending it. Each backend keeps how it takes the audio and its own
 * {@link run}; a stream's chunks MUST go out through {@link emitChunk}, so that the result counts them.
 */
export abstract class RecordingBase extends CallAudioBase<RecordingResult, RecordingEndedBy> implements Recording {
  /** Chunks emitted so far (the result's `chunks`). */
  protected chunks = 0;

  constructor(
    call: Call,
    readonly options: Readonly<RecordingOptions>,
  ) {
    super(call);
  }

  stop(): Promise<RecordingResult> {
    return this.finish('stop');
  }

  protected emitChunk(chunk: AudioChunk): void {
    this.chunks++;
    this.emit('chunk', chunk);
  }

  protected callEnded(): void {
    this.end('call-ended');
  }

  protected failedWhy(): RecordingEndedBy {
    return 'stop';
  }
}
