import { checkInt, checkOneOf, checkOptions } from './check-option';
import { pcm16leBytes } from './g711';

/**
 * Which audio of a call a stream carries: what we receive (`rx`, the remote party), what we send
 * (`tx`), or `both` (mixed in one channel, or with `channels: 2` one leg per channel: left rx, right tx).
 */
export type AudioDirection = 'rx' | 'tx' | 'both';

export const AUDIO_SAMPLE_RATE = 8000;
export const MIN_CHUNK_MS = 20;
export const MAX_CHUNK_MS = 1000;

/** `msg.audio` of a `voice-record` stream message (design §3). */
export interface AudioChunkInfo {
  format: 'pcm16le';
  sampleRate: typeof AUDIO_SAMPLE_RATE;
  channels: 1 | 2;
  direction: AudioDirection;
  /** 0 for the first chunk of the stream, then +1 per chunk. */
  seq: number;
  /** When the chunk's first sample was, in ms since the stream's first sample. */
  timestamp: number;
}

/** The `payload` and `audio` of one stream message. */
export interface AudioChunk {
  /**
   * 16-bit little-endian PCM, interleaved when stereo. From {@link AudioChunker}: a Buffer with an
   * ArrayBuffer of its own (offset 0, exactly its bytes), so a media worker can transfer it as it is.
   */
  payload: Buffer;
  audio: AudioChunkInfo;
}

export interface AudioChunkerOptions {
  /** The length of a chunk, 20–1000 ms (default 100). */
  chunkMs?: number;
  /** 1 (default) or 2 (interleaved input). */
  channels?: 1 | 2;
  /** Default `rx`. */
  direction?: AudioDirection;
}

/**
 * Groups an 8 kHz PCM stream into chunks of a fixed length, so that a flow gets, say, 10 messages
 * a second instead of 50 (Node-RED's cost is per message). Push samples as they come; full chunks
 * come back; `flush()` returns the last, shorter one when the stream ends.
 */
export class AudioChunker {
  readonly chunkMs: number;
  readonly channels: 1 | 2;
  readonly direction: AudioDirection;
  /** Samples (all channels) per chunk. */
  private readonly size: number;
  private readonly buffer: Int16Array;
  private filled = 0;
  private seq = 0;
  /** Frames (samples per channel) emitted so far. */
  private frames = 0;

  constructor(options?: AudioChunkerOptions) {
    const o = checkOptions('AudioChunker', options);
    this.chunkMs = checkInt('chunkMs', o.chunkMs ?? 100, MIN_CHUNK_MS, MAX_CHUNK_MS);
    this.channels = checkOneOf('channels', o.channels ?? 1, [1, 2] as const);
    this.direction = checkOneOf('direction', o.direction ?? 'rx', ['rx', 'tx', 'both'] as const);
    this.size = ((this.chunkMs * AUDIO_SAMPLE_RATE) / 1000) * this.channels;
    this.buffer = new Int16Array(this.size);
  }

  /** Adds samples (interleaved when stereo); returns the chunks completed by them, often none. */
  push(samples: Int16Array): AudioChunk[] {
    const out: AudioChunk[] = [];
    let at = 0;
    while (at < samples.length) {
      const n = Math.min(this.size - this.filled, samples.length - at);
      this.buffer.set(samples.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.size) out.push(this.emit());
    }
    return out;
  }

  /** The partial last chunk (whole frames only), or `null` when nothing is pending. */
  flush(): AudioChunk | null {
    this.filled -= this.filled % this.channels;
    return this.filled > 0 ? this.emit() : null;
  }

  private emit(): AudioChunk {
    // Not from Buffer's shared pool: a pooled chunk would carry (and, posted to another thread, copy) the whole pool.
    const payload = Buffer.allocUnsafeSlow(this.filled * 2);
    payload.set(pcm16leBytes(this.buffer.subarray(0, this.filled)));
    const chunk: AudioChunk = {
      payload,
      audio: {
        format: 'pcm16le',
        sampleRate: AUDIO_SAMPLE_RATE,
        channels: this.channels,
        direction: this.direction,
        seq: this.seq++,
        timestamp: (this.frames * 1000) / AUDIO_SAMPLE_RATE,
      },
    };
    this.frames += this.filled / this.channels;
    this.filled = 0;
    return chunk;
  }
}
