import type { Logger } from '../backend';
import type { Call } from '../call/call';
import type { RecordingOptions, RecordingResult } from '../capabilities/audio';
import { RecordingBase, RecordingEndedBy } from '../capabilities/recording-base';
import { CommandFailedError } from '../errors';
import type { AudioChunk } from '../media/audio-chunker';
import type { RecordableMedia, RecorderError, RecorderHandle, RecorderResult, RecorderSpec } from '../media/call-recorder';

/** What a SIP recording needs: the call's media, a log, and who to tell when it is over. */
export interface SipRecordingParts {
  /** The call's RtpSession, or a media worker's proxy of it: either records with `record()`. */
  rtp: RecordableMedia;
  log: Logger;
  /** Called once, when the recording is over (before its `end` / `error`). */
  onSettled(rec: SipRecording): void;
}

/**
 * One recording of a SIP call, the flow's side of it: its life with the call and the flow (lib/capabilities/recording-base.ts:
 * stop(), the call's end, one `end` or `error`, the chunk events), over the media's `record()`.
 *
 * The recording itself (one frame of each leg per tick of the media clock, the WAV file written as
 * it grows, the stream's chunks) is lib/media/call-recorder.ts, run by the call's RtpSession where
 * the media runs (this thread, or a media worker): nothing here runs per tick. See docs/audio.md,
 * "On a SIP line".
 *
 * It ends when the flow stops it, the call ends or its media closes (`endedBy: 'call-ended'`), the line
 * stops, or the file cannot be written (`error`). Nothing is emitted after `end` / `error`.
 */
export class SipRecording extends RecordingBase {
  private readonly spec: RecorderSpec;
  private handle: RecorderHandle | null = null;
  /** The recorder takes the media's audio: its end is this recording's end from now on. */
  private running = false;

  constructor(
    call: Call,
    options: Readonly<RecordingOptions>,
    private readonly parts: SipRecordingParts,
  ) {
    super(call, options);
    this.spec = { direction: options.direction, channels: options.channels ?? 1 };
    if (options.file !== undefined) this.spec.file = options.file;
    if (options.streamChunkMs !== undefined) this.spec.streamChunkMs = options.streamChunkMs;
  }

  /** Opens the file (its folder is created) and starts taking the call's audio. */
  async start(): Promise<void> {
    const handle = this.parts.rtp.record(this.spec, {
      chunk: (chunk) => this.onChunk(chunk),
      end: (result) => this.onRecorderEnd(result),
    });
    this.handle = handle;
    const early = await handle.started;
    if (early?.error?.kind === 'open') {
      this.parts.onSettled(this);
      throw new CommandFailedError(early.error.message);
    }
    if (this.ending) return; // stopped while the file opened (the line closed: a redeploy)
    this.running = true;
    this.watchCall();
    this.parts.log.debug(`recording call ${this.call.id} (${this.describe()})`);
    // Ended before it took any audio (the media closed meanwhile), or the call is over already.
    if (early) this.onRecorderEnd(early);
    else if (this.call.ended) this.end('call-ended');
  }

  private onChunk(chunk: AudioChunk): void {
    this.emitChunk(chunk);
  }

  /** The recorder ended: by our stop (nothing to do), the media closing, or an error. */
  private onRecorderEnd(result: RecorderResult): void {
    if (!this.running) return;
    if (result.error) this.fail(failureOf(result.error));
    else this.end('call-ended');
  }

  protected settled(): void {
    this.parts.onSettled(this);
  }

  protected async run(endedBy: RecordingEndedBy): Promise<RecordingResult> {
    const r = this.handle ? await this.handle.stop() : null;
    const result: RecordingResult = {
      bytes: r?.bytes ?? 0,
      durationMs: r?.durationMs ?? 0,
      format: 'wav',
      direction: this.options.direction,
      channels: this.spec.channels,
      chunks: this.chunks,
      endedBy,
    };
    if (r?.path !== undefined) result.path = r.path;
    if (r?.error) this.failure ??= failureOf(r.error);
    const s = r?.rx;
    this.parts.log.debug(
      `recording of call ${this.call.id} ended (${endedBy}): ${result.durationMs} ms` +
        (s ? `, received leg: ${s.silentFrames} silent frames, ${s.underruns} underruns, ${s.dropped} samples dropped` : ''),
    );
    if (this.failure) throw this.failure;
    return result;
  }

  private describe(): string {
    const legs = this.spec.channels === 2 ? 'stereo, left rx, right tx' : this.spec.direction;
    const to = [this.spec.file !== undefined ? `file ${this.spec.file}` : '', this.spec.streamChunkMs !== undefined ? `stream of ${this.spec.streamChunkMs} ms chunks` : '']
      .filter(Boolean)
      .join(' and ');
    return `${legs}, ${to}`;
  }
}

/** The flow's error for a recorder's: a file that cannot be written is a CommandFailedError. */
function failureOf(e: RecorderError): Error {
  return e.kind === 'internal' ? new Error(e.message) : new CommandFailedError(e.message);
}
