import { constants, promises as fsp } from 'node:fs';
import { FileAccessError, InvalidInputError } from '../errors';
import { decodeAlaw, decodeUlaw, pcm16leToInt16 } from './g711';
import { Decimator16kTo8k, stereoToMono } from './pcm-convert';
import type { PcmSource } from './pcm-source';
import { parseWav, WavInfo } from './wav-reader';

/** How much of a file is read to find its header: chunks before the audio (LIST, fact...) must fit. */
export const WAV_HEAD_BYTES = 64 * 1024;
/** The default size limit of a WAV file to play: 10 minutes of 16 kHz stereo 16-bit (38.4 MB) and its chunks. */
export const DEFAULT_MAX_WAV_BYTES = 50 * 1024 * 1024;

export interface WavFileLimits {
  /** Files larger than this are refused before anything but their size is known. */
  maxBytes: number;
  /** Audio longer than this (ms, at 8 kHz after conversion) is refused once the header is read. */
  maxMs: number;
}

/**
 * A WAV file played as it is read (a {@link PcmSource}): the header is read and checked first (the
 * file must be a regular file under `maxBytes`, its audio a format lib/media/wav-reader.ts plays and
 * no longer than `maxMs`), then the audio is read block by block (about 1 s of the file's audio each),
 * converted to 8 kHz mono, and kept at most {@link WavFileSource.aheadSamples} ahead of what was taken.
 * So a prompt of any length costs a few seconds of samples in memory, never the whole file.
 */
export class WavFileSource implements PcmSource {
  /** Samples (8 kHz) read ahead of what was taken, at most (plus one block being read). */
  static readonly aheadSamples = 2 * 8000;

  private lengthNow: number;
  private taken = 0;
  private failure: Error | null = null;
  private readonly chunks: Int16Array[] = [];
  private buffered = 0;
  private filePos: number;
  private readonly dataEnd: number;
  private readonly frameBytes: number;
  private readonly blockBytes: number;
  private readonly decimator: Decimator16kTo8k | null;
  private reading: Promise<void> | null = null;
  private inputDone = false;
  private closed = false;
  private handleClosed = false;

  private constructor(
    private readonly handle: fsp.FileHandle,
    private readonly info: WavInfo,
  ) {
    this.frameBytes = info.channels * (info.encoding === 'pcm16' ? 2 : 1);
    const frames = info.dataBytes / this.frameBytes;
    this.lengthNow = info.sampleRate === 16000 ? frames >> 1 : frames;
    this.filePos = info.dataOffset;
    this.dataEnd = info.dataOffset + info.dataBytes;
    this.blockBytes = info.sampleRate * this.frameBytes; // one second of the file's audio
    this.decimator = info.sampleRate === 16000 ? new Decimator16kTo8k() : null;
  }

  /**
   * Opens `path` and checks it (FileAccessError: not a regular file, too big, unreadable;
   * WavFormatError: not a WAV it can play; InvalidInputError: empty or too long), then reads the
   * first block so that playback starts with audio at hand. The caller closes the source.
   */
  static async open(path: string, limits: WavFileLimits): Promise<WavFileSource> {
    // O_NONBLOCK: a FIFO named *.wav must not hang the open (it is refused just below).
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new FileAccessError(`it is not a regular file (${kindOf(st)})`);
      if (st.size > limits.maxBytes) {
        throw new FileAccessError(`it is ${megabytes(st.size)} MB, over the limit of ${megabytes(limits.maxBytes)} MB`);
      }
      const head = Buffer.alloc(Math.min(st.size, WAV_HEAD_BYTES));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const source = new WavFileSource(handle, parseWav(head.subarray(0, bytesRead), st.size));
      if (source.length === 0) throw new InvalidInputError('the file holds no audio');
      if (source.length > (limits.maxMs * 8000) / 1000) {
        throw new InvalidInputError(`its audio is longer than ${limits.maxMs / 60000} minutes`);
      }
      await source.fill();
      return source;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  get length(): number {
    return this.lengthNow;
  }

  get position(): number {
    return this.taken;
  }

  get error(): Error | null {
    return this.failure;
  }

  /** File bytes read so far past the header (for tests and measurements). */
  get bytesRead(): number {
    return this.filePos - this.info.dataOffset;
  }

  take(max: number): Int16Array {
    const n = this.closed ? 0 : Math.max(0, Math.min(Math.floor(max), this.buffered, this.lengthNow - this.taken));
    const out = new Int16Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0];
      const k = Math.min(n - filled, head.length);
      out.set(head.subarray(0, k), filled);
      filled += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.buffered -= n;
    this.taken += n;
    void this.fill();
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.length = 0;
    this.buffered = 0;
    if (!this.reading) this.closeHandle();
  }

  /** Reads blocks until {@link WavFileSource.aheadSamples} are buffered or the audio is all read. */
  private fill(): Promise<void> {
    if (this.reading) return this.reading;
    if (this.closed || this.inputDone || this.buffered >= WavFileSource.aheadSamples) return Promise.resolve();
    this.reading = this.readBlock().then(() => {
      this.reading = null;
      if (this.closed) this.closeHandle();
      else return this.fill();
    });
    return this.reading;
  }

  private async readBlock(): Promise<void> {
    const want = Math.min(this.blockBytes, this.dataEnd - this.filePos);
    const buf = Buffer.allocUnsafe(want);
    let got: number;
    try {
      got = (await this.handle.read(buf, 0, want, this.filePos)).bytesRead;
    } catch (err) {
      this.failure = new FileAccessError(`reading it failed after ${this.bytesRead} bytes of audio (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      this.endInput();
      return;
    }
    const usable = got - (got % this.frameBytes);
    this.filePos += usable;
    if (usable > 0 && !this.closed) this.push(this.decode(buf.subarray(0, usable)));
    // A short read means the file shrank since its header was read: what there is, is the audio.
    if (usable < want || this.filePos >= this.dataEnd) this.endInput();
  }

  private decode(bytes: Buffer): Int16Array {
    const { encoding, channels } = this.info;
    let samples = encoding === 'pcm16' ? pcm16leToInt16(bytes) : encoding === 'alaw' ? decodeAlaw(bytes) : decodeUlaw(bytes);
    if (channels === 2) samples = stereoToMono(samples);
    return this.decimator ? this.decimator.push(samples) : samples;
  }

  private push(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.buffered += samples.length;
  }

  private endInput(): void {
    if (this.inputDone) return;
    this.inputDone = true;
    if (this.decimator && !this.closed) this.push(this.decimator.end());
    this.lengthNow = Math.min(this.lengthNow, this.taken + this.buffered);
    this.closeHandle();
  }

  private closeHandle(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    void this.handle.close().catch(() => undefined);
  }
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
