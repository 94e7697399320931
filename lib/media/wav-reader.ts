import { promises as fsp } from 'node:fs';
import { decodeAlaw, decodeUlaw, pcm16leToInt16 } from './g711';
import { decimate16kTo8k, stereoToMono } from './pcm-convert';
import { WAVE_FORMAT_ALAW, WAVE_FORMAT_EXTENSIBLE, WAVE_FORMAT_MULAW, WAVE_FORMAT_PCM } from './wav-header';
import { WavFormatError } from './wav-format-error';

export type WavEncoding = 'pcm16' | 'alaw' | 'ulaw';

/** What the header of a playable WAV says, and where its samples are. */
export interface WavInfo {
  encoding: WavEncoding;
  /** 8000 or 16000. */
  sampleRate: number;
  /** 1 or 2. */
  channels: number;
  /** Where the samples start in the buffer. */
  dataOffset: number;
  /** Bytes of samples present (less than the header says when the file is cut short). */
  dataBytes: number;
  /** The data chunk claims more bytes than the file holds (a recording that was cut off). */
  truncated: boolean;
}

const SUPPORTED = 'only 16-bit PCM or G.711 WAV at 8 or 16 kHz is supported';

/**
 * Reads a WAV header: RIFF chunks in any order, unknown ones (`LIST`, `fact`, `cue `...) skipped.
 * Throws {@link WavFormatError}, with a message for people, for anything it cannot play. `buf` may
 * be the start of a file of `fileSize` bytes (lib/media/wav-file-source.ts reads only the header):
 * then the chunks must begin within it, and what is present is counted against the file's size.
 */
export function parseWav(buf: Buffer, fileSize: number = buf.length): WavInfo {
  if (!Buffer.isBuffer(buf) || buf.length < 12) throw new WavFormatError('this is not a WAV file: it is too short');
  const riff = buf.toString('latin1', 0, 4);
  if (riff === 'RF64') throw new WavFormatError('RF64 (WAV files over 4 GB) is not supported');
  if (riff !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavFormatError('this is not a WAV file: it does not start with RIFF....WAVE');
  }
  let fmt: Buffer | null = null;
  let data: { offset: number; bytes: number; truncated: boolean } | null = null;
  let offset = 12;
  while (offset + 8 <= buf.length && !(fmt && data)) {
    const id = buf.toString('latin1', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    const present = Math.max(0, Math.min(size, fileSize - body));
    if (id === 'fmt ' && !fmt) fmt = buf.subarray(body, body + present);
    if (id === 'data' && !data) data = { offset: body, bytes: present, truncated: present < size };
    offset = body + size + (size & 1);
  }
  if (!fmt) throw new WavFormatError('this WAV file has no "fmt " chunk: it is damaged or not a WAV file');
  const format = describeFormat(fmt);
  if (!data) {
    throw new WavFormatError(
      fileSize > buf.length && offset + 8 > buf.length
        ? `this WAV file's audio does not start in its first ${buf.length} bytes (a header that long is not supported)`
        : 'this WAV file has no audio (no "data" chunk)',
    );
  }
  const frame = format.channels * (format.encoding === 'pcm16' ? 2 : 1);
  return {
    ...format,
    dataOffset: data.offset,
    dataBytes: data.bytes - (data.bytes % frame),
    truncated: data.truncated,
  };
}

/** The samples of a WAV, as 8 kHz mono (stereo is mixed down, 16 kHz is filtered and decimated). */
export function decodeWav(buf: Buffer): Int16Array {
  const info = parseWav(buf);
  const bytes = buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  let samples =
    info.encoding === 'pcm16' ? pcm16leToInt16(bytes) : info.encoding === 'alaw' ? decodeAlaw(bytes) : decodeUlaw(bytes);
  if (info.channels === 2) samples = stereoToMono(samples);
  if (info.sampleRate === 16000) samples = decimate16kTo8k(samples);
  return samples;
}

/** Reads a WAV file and decodes it as {@link decodeWav} does. */
export async function readWavFile(path: string): Promise<Int16Array> {
  return decodeWav(await fsp.readFile(path));
}

function describeFormat(fmt: Buffer): Pick<WavInfo, 'encoding' | 'sampleRate' | 'channels'> {
  if (fmt.length < 16) throw new WavFormatError('this WAV file has a damaged "fmt " chunk (too short)');
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const bits = fmt.readUInt16LE(14);
  if (tag === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  const encoding = encodingOf(tag, bits);
  if (!encoding || (sampleRate !== 8000 && sampleRate !== 16000)) {
    throw new WavFormatError(`${SUPPORTED}, this file is ${sampleRate} Hz ${bits}-bit${formatName(tag)}`);
  }
  if (channels !== 1 && channels !== 2) {
    throw new WavFormatError(`only mono or stereo WAV is supported, this file has ${channels} channels`);
  }
  return { encoding, sampleRate, channels };
}

function encodingOf(tag: number, bits: number): WavEncoding | null {
  if (tag === WAVE_FORMAT_PCM && bits === 16) return 'pcm16';
  if (tag === WAVE_FORMAT_ALAW && bits === 8) return 'alaw';
  if (tag === WAVE_FORMAT_MULAW && bits === 8) return 'ulaw';
  return null;
}

function formatName(tag: number): string {
  switch (tag) {
    case WAVE_FORMAT_PCM:
      return '';
    case 3:
      return ' float';
    case WAVE_FORMAT_ALAW:
      return ' A-law';
    case WAVE_FORMAT_MULAW:
      return ' µ-law';
    default:
      return ` (format ${tag})`;
  }
}
