import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { AudioChunk, AudioChunker, AudioDirection } from './audio-chunker';
import { LegLayout, legFrame } from './call-legs';
import { checkOneOf, checkOptions } from './check-option';
import { RxPlayout, RxPlayoutStats } from './rx-playout';
import { WavWriter } from './wav-writer';

/**
 * What to record of a call's media (plain data: it may cross to a media worker): which legs
 * (`rx` what we receive, `tx` what we send, `both` mixed, or with 2 channels one leg per channel,
 * left rx, right tx), a WAV file written as it grows, and/or a stream of chunks.
 */
export interface RecorderSpec {
  direction: AudioDirection;
  /** 2 only with direction `both`. */
  channels: 1 | 2;
  /** A WAV file (16-bit PCM, 8 kHz) at this path; its folder is created. Absent: no file. */
  file?: string;
  /** Stream chunks of this many ms (20–1000). Absent: no stream. */
  streamChunkMs?: number;
}

/**
 * Why a recording could not go on: `open` (its file could not be created), `write` (its file could
 * not be written any more: disk full, file gone), `internal` (anything else, e.g. a sink that threw).
 * `message` is the whole sentence, ready for the flow.
 */
export interface RecorderError {
  kind: 'open' | 'write' | 'internal';
  message: string;
}

/** Why the recorder stopped: asked to, its media closed, or an error. */
export type RecorderEndedBy = 'stop' | 'media-closed' | 'error';

/** What a recording was (plain data). */
export interface RecorderResult {
  direction: AudioDirection;
  channels: 1 | 2;
  /** The file, when there was one and it was opened. */
  path?: string;
  /** The file's size (header included), 0 without a file. */
  bytes: number;
  /** The file's length when there is one (what reached the disk), else frames × 20 ms. */
  durationMs: number;
  /** Media clock ticks recorded (20 ms each). */
  frames: number;
  /** Stream chunks handed to the sink. */
  chunks: number;
  endedBy: RecorderEndedBy;
  /** Set when it ended with an error (`endedBy: 'error'`), or when closing its file failed after a stop. */
  error?: RecorderError;
  /** The received leg's playout, when the recording kept it. */
  rx?: RxPlayoutStats;
}

/**
 * Who hears from a recorder: each stream chunk in order, then its end, exactly once, whatever ended it
 * (stop(), the media closing, an error, a file that could not be opened), with the same result stop()
 * resolves with. Nothing comes after `end`. A method that throws ends the recording with an
 * `internal` error (never into the media clock).
 */
export interface RecorderSink {
  chunk(chunk: AudioChunk): void;
  end(result: RecorderResult): void;
}

/** A recording running on a call's media (RtpSession.record, or a media worker's proxy of it). */
export interface RecorderHandle {
  /**
   * Resolves once it takes the media's audio (its file open): `null`; or, when it ended before
   * (the file could not be opened, stopped or the media closed meanwhile), with its result.
   */
  readonly started: Promise<RecorderResult | null>;
  /** Ends it (when it has not ended) and resolves with the result, once its file is closed. Never rejects; again: the same result. */
  stop(): Promise<RecorderResult>;
}

/** What can record a call's media (RtpSession, and the main-thread proxy of one in a media worker). */
export interface RecordableMedia {
  record(spec: RecorderSpec, sink: RecorderSink): RecorderHandle;
}

/** The audio events of a call's media a recording needs (RtpSession's `audio` and `tx`). */
export interface MediaAudioEvents {
  on(event: 'audio', listener: (samples: Int16Array) => void): unknown;
  on(event: 'tx', listener: (samples: Int16Array) => void): unknown;
  off(event: 'audio', listener: (samples: Int16Array) => void): unknown;
  off(event: 'tx', listener: (samples: Int16Array) => void): unknown;
}

/** Checks a spec (TypeError when it is not one) and returns a clean copy. */
export function checkRecorderSpec(spec: RecorderSpec): RecorderSpec {
  const o = checkOptions('RecorderSpec', spec);
  const direction = checkOneOf('direction', o.direction, ['rx', 'tx', 'both'] as const);
  const channels = checkOneOf('channels', o.channels ?? 1, [1, 2] as const);
  if (channels === 2 && direction !== 'both') throw new TypeError('two channels (one leg each) need direction "both"');
  if (o.file !== undefined && (typeof o.file !== 'string' || o.file === '')) throw new TypeError('"file" must be a file path');
  const out: RecorderSpec = { direction, channels };
  if (o.file !== undefined) out.file = o.file;
  if (o.streamChunkMs !== undefined) out.streamChunkMs = o.streamChunkMs;
  return out;
}

type State = 'new' | 'opening' | 'running' | 'ended';

/**
 * The work of one call recording, tick by tick, with nothing of the call, the line or Node-RED: so a
 * media worker can host it as well as the main thread (lib/sip/sip-recording.ts is the flow's side).
 *
 * Received audio is pushed as it arrives ({@link pushRx}); each tick of the media clock hands in the
 * frame we sent ({@link tick}) and takes one frame of the received leg through an {@link RxPlayout}
 * (silence when nothing came), so both legs advance on our clock and never drift apart. The frame of
 * the recording (rx, tx, both mixed, or stereo: lib/media/call-legs.ts) goes to a {@link WavWriter}
 * (the file is valid as it grows) and/or an {@link AudioChunker} (stream chunks to the sink).
 *
 * It ends once ({@link finish}): the last, shorter chunk, the file's last write and its header, then
 * `sink.end(result)`. Nothing it does on a tick throws: a failure ends it with an error in the result.
 * Everything crossing its boundary (spec, chunks, result, error) is plain data.
 */
export class CallRecorder {
  readonly spec: Readonly<RecorderSpec>;
  private readonly layout: LegLayout;
  /** Received audio waiting for its tick; null when the recording keeps only the sent leg. */
  private readonly playout: RxPlayout | null;
  private readonly chunker: AudioChunker | null;
  private writer: WavWriter | null = null;
  private state: State = 'new';
  private opening: Promise<RecorderError | null> | null = null;
  private ending: Promise<RecorderResult> | null = null;
  private frames = 0;
  private chunks = 0;
  private failure: RecorderError | null = null;

  /** Throws TypeError for a spec that is not one (nothing is opened then). */
  constructor(
    spec: RecorderSpec,
    private readonly sink: RecorderSink,
  ) {
    this.spec = checkRecorderSpec(spec);
    this.layout = { direction: this.spec.direction, channels: this.spec.channels };
    this.playout = this.spec.direction === 'tx' ? null : new RxPlayout();
    this.chunker =
      this.spec.streamChunkMs === undefined
        ? null
        : new AudioChunker({ chunkMs: this.spec.streamChunkMs, direction: this.spec.direction, channels: this.spec.channels });
  }

  /** True while it takes audio (opened, not ended). */
  get running(): boolean {
    return this.state === 'running';
  }

  /** True once it began to end. */
  get ended(): boolean {
    return this.ending !== null;
  }

  /**
   * Opens the file (its folder created), if any. Resolves with `null` when it is running, or with the
   * error when the file could not be opened (it has ended then: {@link finish}'s result has it).
   * Never rejects; again: the same promise. After {@link finish}: nothing is opened.
   */
  open(): Promise<RecorderError | null> {
    if (this.ending && !this.opening) return Promise.resolve(null);
    this.opening ??= this.openFile();
    return this.opening;
  }

  private async openFile(): Promise<RecorderError | null> {
    this.state = 'opening';
    const path = this.spec.file;
    if (path !== undefined) {
      try {
        await fsp.mkdir(dirname(path), { recursive: true });
        this.writer = await WavWriter.open(path, { channels: this.spec.channels });
      } catch (err) {
        this.failure ??= { kind: 'open', message: `the recording cannot be written at ${path}: ${messageOf(err)}` };
        void this.finish('error');
        return this.failure;
      }
    }
    if (this.ending) return null; // finished while the file opened: finish() closes it
    this.state = 'running';
    return null;
  }

  /** Received samples, in order, as they arrive (copied; ignored unless running or without an rx leg). */
  pushRx(samples: Int16Array): void {
    if (this.state === 'running') this.playout?.push(samples);
  }

  /** One tick of the media clock: `tx` is what we sent (160 samples). Never throws: a failure ends it. */
  tick(tx: Int16Array): void {
    if (this.state !== 'running') return;
    let kind: RecorderError['kind'] = 'internal';
    try {
      const rx = this.playout ? this.playout.take() : tx;
      const frame = legFrame(this.layout, rx, tx);
      this.frames++;
      if (this.writer) {
        if (this.writer.error) {
          kind = 'write';
          throw this.writer.error;
        }
        this.writer.write(frame);
      }
      if (this.chunker) for (const chunk of this.chunker.push(frame)) this.emitChunk(chunk);
    } catch (err) {
      this.fail(kind, err);
    }
  }

  /** Ends it with an error (the first is kept); a no-op once it is ending. */
  fail(kind: RecorderError['kind'], err: unknown): void {
    if (this.ending) return;
    this.failure ??= { kind, message: kind === 'write' ? this.writeMessage(err) : messageOf(err) };
    void this.finish('error');
  }

  /**
   * Ends it (the first call decides why; a failure says `error`): no more audio is taken, the last
   * chunk goes to the sink, the file is closed; then `sink.end(result)`. Never rejects; again: the same result.
   */
  finish(endedBy: RecorderEndedBy): Promise<RecorderResult> {
    this.ending ??= this.close(endedBy);
    return this.ending;
  }

  private async close(asked: RecorderEndedBy): Promise<RecorderResult> {
    this.state = 'ended';
    if (this.opening) await this.opening;
    if (!this.failure) {
      const last = this.chunker?.flush();
      try {
        if (last) this.emitChunk(last);
      } catch (err) {
        this.failure = { kind: 'internal', message: messageOf(err) };
      }
    }
    const result: RecorderResult = {
      direction: this.spec.direction,
      channels: this.spec.channels,
      bytes: 0,
      durationMs: this.frames * 20,
      frames: this.frames,
      chunks: this.chunks,
      endedBy: asked,
    };
    if (this.writer) {
      try {
        const file = await this.writer.close();
        result.path = file.path;
        result.bytes = file.bytes;
        result.durationMs = file.durationMs;
      } catch (err) {
        this.failure ??= { kind: 'write', message: this.writeMessage(err) };
      }
    }
    if (this.playout) result.rx = this.playout.stats();
    if (this.failure) result.error = { ...this.failure };
    try {
      this.sink.end(result);
    } catch {
      // The sink's own failure: the recording is over either way, and its result stands.
    }
    return result;
  }

  private emitChunk(chunk: AudioChunk): void {
    this.chunks++;
    this.sink.chunk(chunk);
  }

  private writeMessage(err: unknown): string {
    return `the recording could not be written at ${this.spec.file}: ${messageOf(err)}`;
  }
}

/** A recording attached to a media's events ({@link recordMediaEvents}). */
export interface AttachedRecorder extends RecorderHandle {
  /** The media closed: the recording ends (`media-closed`). */
  mediaClosed(): void;
  readonly recorder: CallRecorder;
}

/**
 * Records `media` (its `audio` and `tx` events) into a {@link CallRecorder} from the moment its file
 * is open: what RtpSession.record does, the same in the main thread and in a media worker.
 * `onEnd` is called once it has ended (the media forgets it). Throws TypeError for a bad spec.
 */
export function recordMediaEvents(media: MediaAudioEvents, spec: RecorderSpec, sink: RecorderSink, onEnd?: () => void): AttachedRecorder {
  let listening = false;
  const unlisten = (): void => {
    if (!listening) return;
    listening = false;
    media.off('audio', onAudio);
    media.off('tx', onTick);
  };
  const recorder = new CallRecorder(spec, {
    chunk: (c) => sink.chunk(c),
    end: (r) => {
      unlisten();
      onEnd?.();
      sink.end(r);
    },
  });
  const onAudio = (samples: Int16Array): void => recorder.pushRx(samples);
  const onTick = (tx: Int16Array): void => recorder.tick(tx);
  const started = recorder.open().then(async () => {
    if (!recorder.running) return recorder.finish('stop');
    if (spec.direction !== 'tx') media.on('audio', onAudio);
    media.on('tx', onTick);
    listening = true;
    return null;
  });
  return {
    started,
    stop: () => recorder.finish('stop'),
    mediaClosed: () => void recorder.finish('media-closed'),
    recorder,
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
