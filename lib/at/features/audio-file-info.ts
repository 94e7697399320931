import type { RecordingFormat } from '../../capabilities/audio';
import { parseWav } from '../../media/wav-reader';

/** The magic number of an AMR-NB file (RFC 4867 §5). */
export const AMR_MAGIC = '#!AMR\n';
/**
 * Bytes after the one-byte header of an AMR-NB frame, by frame type (RFC 4867 §5.3, 3GPP TS 26.101):
 * 0–7 speech (4.75–12.2 kbit/s), 8 SID, 15 NO_DATA; 9–14 are not used in files.
 */
const AMR_FRAME_BYTES: readonly (number | undefined)[] = [12, 13, 15, 17, 19, 20, 26, 31, 5, undefined, undefined, undefined, undefined, undefined, undefined, 0];
const AMR_FRAME_MS = 20;

/**
 * How long the audio of a recording file is, from the file itself: a WAV's data size and format, an
 * AMR file's frame count (20 ms each). Null when the file cannot tell (damaged, another format).
 */
export function recordingDurationMs(file: Buffer, format: RecordingFormat): number | null {
  return format === 'wav' ? wavDurationMs(file) : amrDurationMs(file);
}

export function wavDurationMs(file: Buffer): number | null {
  try {
    const info = parseWav(file);
    const bytesPerSample = info.encoding === 'pcm16' ? 2 : 1;
    return Math.round((info.dataBytes / (info.sampleRate * info.channels * bytesPerSample)) * 1000);
  } catch {
    return null;
  }
}

/** Counts the frames of an AMR-NB file; an unused frame type or a frame cut short ends the count. */
export function amrDurationMs(file: Buffer): number | null {
  if (file.length < AMR_MAGIC.length || file.toString('latin1', 0, AMR_MAGIC.length) !== AMR_MAGIC) return null;
  let at = AMR_MAGIC.length;
  let frames = 0;
  while (at < file.length) {
    const size = AMR_FRAME_BYTES[(file[at] >> 3) & 0x0f];
    if (size === undefined || at + 1 + size > file.length) break;
    at += 1 + size;
    frames++;
  }
  return frames * AMR_FRAME_MS;
}
