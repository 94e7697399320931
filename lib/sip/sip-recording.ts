import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../backend';
import type { Call } from '../call/call';
import type { RecordingOptions, RecordingResult } from '../capabilities/audio';
import { RecordingBase, RecordingEndedBy } from '../capabilities/recording-base';
import { CommandFailedError } from '../errors';
import { AudioChunker } from '../media/audio-chunker';
import { LegLayout, legFrame } from '../media/call-legs';
import { RxPlayout } from '../media/rx-playout';
import { WavWriter } from '../media/wav-writer';
import type { RtpSession } from './rtp-session';

/** What a SIP recording needs: the call's media, a log, and who to tell when it is over. */
export interface SipRecordingParts {
  rtp: RtpSession;
  log: Logger;
  /** Called once, when the recording is over (before its `end` / `error`). */
  onSettled(rec: SipRecording): void;
}

/**
 * One recording of a SIP call: a WAV file written as it goes (lib/media/wav-writer.ts: the header
 * stays valid, a crash loses at most the last 500 ms), and/or a stream of chunks.
 *
 * The media clock drives it: every `tx` tick of the call's RtpSession (20 ms, what the remote party
 * hears from us, silence when nothing is sent) is one frame of the recording, together with one frame
 * of what was received meanwhile, through an {@link RxPlayout} (silence when nothing came: loss, hold,
 * silence suppression). So the recording runs in real time for the whole call, and its two legs, mixed
 * or in two channels, never drift apart. See docs/audio.md, "On a SIP line".
 *
 * It ends when the flow stops it, the call ends (`endedBy: 'call-ended'`), the line stops, or the file
 * cannot be written (`error`). Nothing is emitted after `end` / `error`; nothing it does on a tick throws.
 * How it ends once and reports it is shared with the AT recording (lib/capabilities/recording-base.ts).
 */
export class SipRecording extends RecordingBase {
  private readonly layout: LegLayout;
  /** Received audio waiting for its tick; null when the recording keeps only the sent leg. */
  private readonly playout: RxPlayout | null;
  private readonly chunker: AudioChunker | null;
  private writer: WavWriter | null = null;
  private frames = 0;
  private listening = false;

  constructor(
    call: Call,
    options: Readonly<RecordingOptions>,
    private readonly parts: SipRecordingParts,
  ) {
    super(call, options);
    this.layout = { direction: options.direction, channels: options.channels ?? 1 };
    this.playout = options.direction === 'tx' ? null : new RxPlayout();
    this.chunker =
      options.streamChunkMs === undefined ? null : new AudioChunker({ chunkMs: options.streamChunkMs, direction: options.direction, channels: this.layout.channels });
  }

  /** Opens the file (its folder is created) and starts taking the call's audio. */
  async start(): Promise<void> {
    const path = this.options.file;
    if (path !== undefined) {
      try {
        await fsp.mkdir(dirname(path), { recursive: true });
        this.writer = await WavWriter.open(path, { channels: this.layout.channels });
      } catch (err) {
        this.parts.onSettled(this);
        throw new CommandFailedError(`the recording cannot be written at ${path}: ${(err as Error).message}`);
      }
      // Stopped while the file opened (the line closed: a redeploy): it ended without it, so close it here.
      if (this.ending) {
        await this.writer.close().catch(() => undefined);
        return;
      }
    }
    const { rtp } = this.parts;
    this.watchCall();
    if (this.playout) rtp.on('audio', this.onAudio);
    rtp.on('tx', this.onTick);
    this.listening = true;
    this.parts.log.debug(`recording call ${this.call.id} (${this.describe()})`);
    if (this.call.ended || rtp.closed) this.end('call-ended');
  }

  private readonly onAudio = (samples: Int16Array): void => {
    this.playout?.push(samples);
  };

  /** One tick of the media clock: one frame of each leg. Never throws into the clock: a failure ends the recording. */
  private readonly onTick = (tx: Int16Array): void => {
    if (this.ending) return;
    try {
      const rx = this.playout ? this.playout.take() : tx;
      const frame = legFrame(this.layout, rx, tx);
      this.frames++;
      if (this.writer) {
        if (this.writer.error) throw new CommandFailedError(`the recording could not be written at ${this.writer.path}: ${this.writer.error.message}`);
        this.writer.write(frame);
      }
      if (this.chunker) for (const chunk of this.chunker.push(frame)) this.emitChunk(chunk);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  };

  protected settled(): void {
    this.parts.onSettled(this);
  }

  protected async run(endedBy: RecordingEndedBy): Promise<RecordingResult> {
    this.unlisten();
    const last = this.chunker?.flush();
    if (last) this.emitChunk(last);
    const result: RecordingResult = {
      bytes: 0,
      durationMs: this.frames * 20,
      format: 'wav',
      direction: this.options.direction,
      channels: this.layout.channels,
      chunks: this.chunks,
      endedBy,
    };
    if (this.writer) {
      let file;
      try {
        file = await this.writer.close();
      } catch (err) {
        this.failure ??= new CommandFailedError(`the recording could not be written at ${this.writer.path}: ${(err as Error).message}`);
      }
      if (file) {
        result.path = file.path;
        result.bytes = file.bytes;
        result.durationMs = file.durationMs;
      }
    }
    const s = this.playout?.stats();
    this.parts.log.debug(
      `recording of call ${this.call.id} ended (${endedBy}): ${result.durationMs} ms` +
        (s ? `, received leg: ${s.silentFrames} silent frames, ${s.underruns} underruns, ${s.dropped} samples dropped` : ''),
    );
    if (this.failure) throw this.failure;
    return result;
  }

  private unlisten(): void {
    if (!this.listening) return;
    this.listening = false;
    this.parts.rtp.off('audio', this.onAudio);
    this.parts.rtp.off('tx', this.onTick);
  }

  private describe(): string {
    const legs = this.layout.channels === 2 ? 'stereo, left rx, right tx' : this.options.direction;
    const to = [this.writer ? `file ${this.writer.path}` : '', this.chunker ? `stream of ${this.chunker.chunkMs} ms chunks` : ''].filter(Boolean).join(' and ');
    return `${legs}, ${to}`;
  }
}
