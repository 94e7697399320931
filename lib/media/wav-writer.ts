import { promises as fsp } from 'node:fs';
import { fileWrites } from './batched-file-writes';
import { checkInt, checkOneOf, checkOptions } from './check-option';
import { LITTLE_ENDIAN, pcm16leBytes } from './g711';
import { MAX_WAV_DATA_BYTES, WAV_HEADER_SIZE, wavHeader } from './wav-header';

export interface WavWriterOptions {
  /** Samples per second (default 8000). */
  sampleRate?: number;
  /** 1 (default) or 2; with 2, samples are interleaved left, right. */
  channels?: 1 | 2;
  /**
   * How much audio, in ms, is gathered in memory before it is written (default 500, 20–1000). Each
   * write is followed by a header update, so this is also how much a crash can lose at most.
   */
  flushMs?: number;
}

/** What a finished recording is. */
export interface WavRecording {
  path: string;
  /** The file's size: header and samples. */
  bytes: number;
  durationMs: number;
}

/**
 * Writes a 16-bit PCM WAV file as a stream, for call recordings that may last hours.
 *
 * The file starts with a 44-byte header; samples are appended as they come, gathered into writes
 * of `flushMs` of audio (500 ms by default), and after every such write the header's RIFF and data
 * sizes are rewritten to cover what is on disk. So, if the process dies, the file on disk is a
 * valid WAV that holds everything but at most the last `flushMs` (≤ 1 s) of audio. `close()` writes
 * the rest and the final sizes.
 *
 * Writing never throws: a failed write (disk full, file removed) stops the recording and `close()`
 * rejects with that error. Writes after `close()` are ignored.
 */
export class WavWriter {
  readonly path: string;
  readonly sampleRate: number;
  readonly channels: 1 | 2;
  private readonly flushBytes: number;
  private readonly blockAlign: number;
  /**
   * Where samples gather until the next write: `flushBytes` long, filled in place (no buffer per
   * frame, no concatenation), handed whole to the write and replaced by a new one.
   */
  private pending: Buffer;
  /** The same memory as samples (its own ArrayBuffer from offset 0): a frame is set into it at once. */
  private pendingSamples: Int16Array;
  private pendingBytes = 0;
  /**
   * The buffer of the last write once it reached the file: the next pending one (two per writer, not
   * a new one every flush: a new buffer's memory counts as V8 external memory, see RtpSession's rxFrame).
   */
  private spare: Buffer | null = null;
  /** Bytes of samples on disk (and in the header, once the chain has run). */
  private written = 0;
  /** Bytes of samples accepted: written, being written, or pending. */
  private accepted = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closing: Promise<WavRecording> | null = null;

  private constructor(
    private readonly file: fsp.FileHandle,
    path: string,
    sampleRate: number,
    channels: 1 | 2,
    flushMs: number,
  ) {
    this.path = path;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.blockAlign = channels * 2;
    this.flushBytes = Math.max(this.blockAlign, Math.round((sampleRate * flushMs) / 1000) * this.blockAlign);
    this.pending = Buffer.allocUnsafeSlow(this.flushBytes);
    this.pendingSamples = samplesOf(this.pending);
  }

  /** Creates (or truncates) the file and writes an empty header. */
  static async open(path: string, options?: WavWriterOptions): Promise<WavWriter> {
    if (typeof path !== 'string' || path === '') throw new TypeError('"path" must be a file path');
    const { sampleRate, channels, flushMs } = writerOptions(options);
    const file = await fsp.open(path, 'w');
    try {
      await file.write(wavHeader(sampleRate, channels, 0), 0, WAV_HEADER_SIZE, 0);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    return new WavWriter(file, path, sampleRate, channels, flushMs);
  }

  /**
   * Goes on writing a 16-bit PCM WAV file this class wrote (a room recording that moved to another
   * thread, lib/conference/room-recorder.ts): the samples on disk are counted from the file's size
   * (its header may lag by a flush if the writer before died), new ones are appended after them.
   * A file that is not there is created as by {@link WavWriter.open}.
   */
  static async append(path: string, options?: WavWriterOptions): Promise<WavWriter> {
    let size: number;
    try {
      size = (await fsp.stat(path)).size;
    } catch {
      return WavWriter.open(path, options);
    }
    const { sampleRate, channels, flushMs } = writerOptions(options);
    const file = await fsp.open(path, 'r+');
    const writer = new WavWriter(file, path, sampleRate, channels, flushMs);
    const data = Math.max(0, size - WAV_HEADER_SIZE);
    writer.written = writer.accepted = data - (data % writer.blockAlign);
    return writer;
  }

  /** The audio accepted so far, in ms (written or about to be). */
  get durationMs(): number {
    return this.toMs(this.accepted);
  }

  /** The write error that stopped the recording, if any. */
  get error(): Error | null {
    return this.failure;
  }

  /**
   * Appends samples: an `Int16Array`, or a Buffer of 16-bit little-endian PCM (copied, so the
   * caller may reuse it). With 2 channels, interleaved.
   */
  write(samples: Int16Array | Buffer): void {
    if (this.closing || this.failure) return;
    const n = samples.byteLength;
    // The tick's case: samples that fit in what is pending, on a little-endian machine: set straight
    // in, with no byte view or slice per frame (a recording writes 50 frames a second).
    if (LITTLE_ENDIAN && samples instanceof Int16Array && (this.pendingBytes & 1) === 0 && this.pendingBytes + n <= this.flushBytes && n <= MAX_WAV_DATA_BYTES - this.accepted) {
      this.pendingSamples.set(samples, this.pendingBytes >> 1);
      this.pendingBytes += n;
      this.accepted += n;
      if (this.pendingBytes === this.flushBytes) this.writePending();
      return;
    }
    const bytes = samples instanceof Int16Array ? pcm16leBytes(samples) : samples;
    const room = MAX_WAV_DATA_BYTES - this.accepted;
    const kept = bytes.length > room ? bytes.subarray(0, room - (room % this.blockAlign)) : bytes;
    this.accepted += kept.length;
    for (let at = 0; at < kept.length; ) {
      const n = Math.min(kept.length - at, this.flushBytes - this.pendingBytes);
      this.pending.set(kept.subarray(at, at + n), this.pendingBytes);
      this.pendingBytes += n;
      at += n;
      if (this.pendingBytes === this.flushBytes) this.writePending();
    }
  }

  /** Resolves when every write started so far has reached the file (pending audio stays pending). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Writes what is pending now and updates the header. */
  flush(): Promise<void> {
    if (this.pendingBytes > 0) this.writePending();
    return this.chain;
  }

  /** Writes the rest, the final header, and closes the file. Idempotent. */
  close(): Promise<WavRecording> {
    if (!this.closing) this.closing = this.finish();
    return this.closing;
  }

  private async finish(): Promise<WavRecording> {
    if (this.pendingBytes > 0) this.writePending();
    await this.chain;
    await this.file.close().catch((err: Error) => {
      this.failure ??= err;
    });
    if (this.failure) throw this.failure;
    return { path: this.path, bytes: WAV_HEADER_SIZE + this.written, durationMs: this.toMs(this.written) };
  }

  /** Queues one write of the whole frames pending, then the header that covers them. */
  private writePending(): void {
    const whole = this.pendingBytes - (this.pendingBytes % this.blockAlign);
    if (whole === 0) return;
    // The write owns the filled buffer until it reached the file (then it is the spare); the part of a
    // frame left over starts the next one.
    const filled = this.pending;
    const data = filled.subarray(0, whole);
    const next = this.spare ?? Buffer.allocUnsafeSlow(this.flushBytes);
    this.spare = null;
    next.set(filled.subarray(whole, this.pendingBytes));
    this.pending = next;
    this.pendingSamples = samplesOf(next);
    this.pendingBytes -= whole;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        // The handle closed under us (as FileHandle.write would say it).
        if (this.file.fd < 0) throw Object.assign(new Error('EBADF: file closed'), { code: 'EBADF' });
        // One write of the samples and the header covering them (written only once they are):
        // lib/media/batched-file-writes.ts, through the handle's descriptor (one flush at a time, on
        // the chain, while the handle is open). The writes are the largest part of what a recording
        // costs (docs/benchmarks.md, "Recording" and "Where a media worker's time goes, session 9").
        await fileWrites().write(this.file.fd, data, WAV_HEADER_SIZE + this.written, wavHeader(this.sampleRate, this.channels, this.written + data.length));
        this.written += data.length;
        this.spare = filled;
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
      }
    });
  }

  private toMs(bytes: number): number {
    return Math.round((bytes / (this.sampleRate * this.blockAlign)) * 1000);
  }
}

/** The samples view of a pending buffer (`flushBytes`, a multiple of 2, from offset 0 of its own memory). */
function samplesOf(pending: Buffer): Int16Array {
  return new Int16Array(pending.buffer, pending.byteOffset, pending.length >> 1);
}

function writerOptions(options: WavWriterOptions | undefined): { sampleRate: number; channels: 1 | 2; flushMs: number } {
  const o = checkOptions('WavWriter', options);
  return {
    sampleRate: checkInt('sampleRate', o.sampleRate ?? 8000, 8000, 48000),
    channels: checkOneOf('channels', o.channels ?? 1, [1, 2] as const),
    flushMs: checkInt('flushMs', o.flushMs ?? 500, 20, 1000),
  };
}
