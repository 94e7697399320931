/**
 * Audio to play, handed out a little at a time: 8 kHz mono 16-bit samples. A playback takes what it
 * sends on each clock tick (lib/sip/rtp-session.ts, lib/at/features/audio-pacer.ts), so a source can
 * be an array in memory ({@link arraySource}) or a file read ahead by a few seconds
 * (lib/media/wav-file-source.ts): a long prompt is never held in memory whole.
 *
 * A source:
 * - MUST know its `length` before the first `take` (a WAV header says it); it MAY shrink it later
 *   (the file turned out shorter, or could not be read further: then `error` says why), never grow it.
 * - `take(max)` MUST NOT block and MUST NOT throw: it hands out up to `max` of the next samples,
 *   fewer (even none) while a reader is behind, none once `position` reached `length`.
 * - `close()` releases what it holds (a file); taking afterwards gives nothing. Again: nothing.
 */
export interface PcmSource {
  /** Samples in all (8 kHz). */
  readonly length: number;
  /** Samples handed out so far. */
  readonly position: number;
  /** Why the source ended before the length its header gave (a read failed), if it did. */
  readonly error: Error | null;
  take(max: number): Int16Array;
  close(): void;
}

/** Samples in memory as a {@link PcmSource} (takes are views into the array, not copies). */
export function arraySource(pcm: Int16Array): PcmSource {
  let position = 0;
  let closed = false;
  return {
    get length() {
      return pcm.length;
    },
    get position() {
      return position;
    },
    error: null,
    take(max: number): Int16Array {
      if (closed) return pcm.subarray(0, 0);
      const end = Math.min(pcm.length, position + Math.max(0, max));
      const out = pcm.subarray(position, end);
      position = end;
      return out;
    },
    close(): void {
      closed = true;
    },
  };
}

/** An Int16Array becomes an {@link arraySource}; a source stays as it is. */
export function toPcmSource(audio: Int16Array | PcmSource): PcmSource {
  return audio instanceof Int16Array ? arraySource(audio) : audio;
}

/** Whether `value` looks like a {@link PcmSource}. */
export function isPcmSource(value: unknown): value is PcmSource {
  return typeof value === 'object' && value !== null && typeof (value as PcmSource).take === 'function' && typeof (value as PcmSource).length === 'number';
}
