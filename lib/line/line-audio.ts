import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Call, CallReport } from '../call/call';
import { CallState } from '../call/call-state';
import {
  AUDIO_DIRECTIONS,
  AudioCapability,
  AudioDirection,
  PlaybackResult,
  RECORDING_FORMATS,
  Recording,
  RecordingChannels,
  RecordingFormat,
  RecordingOptions,
  RecordingResult,
} from '../capabilities/audio';
import { CallStateError, FileAccessError, InvalidInputError, PathNotAllowedError, VoiceError } from '../errors';
import { MAX_CHUNK_MS, MIN_CHUNK_MS } from '../media/audio-chunker';
import { pcm16leToInt16 } from '../media/g711';
import { beep, dtmfSequence, ringback, silence } from '../media/tone-generator';
import { WavFormatError } from '../media/wav-format-error';
import { arraySource, PcmSource } from '../media/pcm-source';
import { DEFAULT_MAX_WAV_BYTES, WavFileSource } from '../media/wav-file-source';
import { decodeWav } from '../media/wav-reader';
import { describe, printable } from '../validate';
import { deniedPath, errnoText, FilePlace, prepareForWriting, resolveForReading } from './file-paths';
import type { VoiceEvent, VoiceLine } from './voice-line';

/** `file`: record into a file; `stream`: chunks as messages; `both`. */
export type RecordMode = 'file' | 'stream' | 'both';
export const RECORD_MODES: readonly RecordMode[] = ['file', 'stream', 'both'];

/** A recording as a flow asks for it (node settings and msg), unchecked. */
export interface RecordRequest {
  mode?: unknown;
  format?: unknown;
  /**
   * `rx`, `tx`, `both` (`mix` is read as `both`), or `stereo`: both, one leg per channel (left rx,
   * right tx), the same as `both` with `channels: 2`.
   */
  direction?: unknown;
  /** 1 (default) or 2 (one leg per channel: needs direction `both`, or say `stereo`). */
  channels?: unknown;
  /** Stream chunk length, ms. */
  chunkMs?: unknown;
  /**
   * A folder (the file is named for the call) or file path ending in `.wav` / `.amr`: absolute, or
   * relative to `place.folder`.
   */
  path?: unknown;
  /** Where `path` is resolved, and whether it must stay there (a path from a message): lib/line/file-paths.ts. */
  place?: FilePlace;
  deleteOnModule?: unknown;
}

/** A checked request, before it is applied to a call. */
export interface RecordSettings {
  mode: RecordMode;
  format: RecordingFormat;
  direction: AudioDirection;
  channels: RecordingChannels;
  chunkMs: number;
  /** The file, or the folder to name one in (`folder: true`). */
  path?: { value: string; folder: boolean };
  place?: FilePlace;
  deleteOnModule: boolean;
}

export const DEFAULT_CHUNK_MS = 100;
/** The longest audio one play request may hold (8 kHz 16-bit: 9.6 MB). */
export const MAX_PLAY_MS = 600_000;

/** What became of one play request. */
export interface PlayOutcome extends PlaybackResult {
  /** The digit that stopped it (barge-in). */
  digit?: string;
  /** It never started: the queue was cleared (`stop`) or the call ended first. */
  skipped?: boolean;
}

export interface PlayRequest {
  /**
   * A Buffer (a WAV file's bytes, or raw 16-bit little-endian PCM at 8 kHz mono), an Int16Array, a
   * WAV file path, or a tone: `beep[:ms]`, `ringback[:ms]`, `silence:ms`, `dtmf:<digits>`.
   */
  source: unknown;
  /** Stop when the far end presses a DTMF key. */
  bargeIn?: unknown;
  /**
   * Where a file path is resolved, and whether it must stay there (a path from a message). Absent:
   * the path must be absolute, and may be anywhere.
   */
  place?: FilePlace;
  /** The largest WAV file to play, in bytes (default {@link DEFAULT_MAX_WAV_BYTES}, 50 MB). */
  maxFileBytes?: unknown;
}

interface QueuedPlay {
  source: PcmSource;
  bargeIn: boolean;
  resolve(outcome: PlayOutcome): void;
  reject(err: Error): void;
}

interface PlayQueue {
  items: QueuedPlay[];
  /** The playback running now, and how to stop it. */
  current: { stop(): void } | null;
}

/**
 * The line's call audio: record to a file and/or stream, play files, buffers and tones. Validates
 * what a flow gives before anything else, resolves the call, and calls the backend's `audio`
 * capability (`line.capability('audio', ...)`). Playback is queued per call: requests play one after
 * the other; `stopPlaying` stops the one playing and drops the rest.
 */
export class LineAudio {
  private readonly queues = new Map<string, PlayQueue>();
  private readonly recordings = new Map<string, Set<Recording>>();

  constructor(readonly line: VoiceLine) {}

  /** Checks a flow's recording settings (no call needed): InvalidInputError naming what is wrong. */
  checkRecording(input: RecordRequest): RecordSettings {
    if (input === null || typeof input !== 'object') throw new InvalidInputError(`the recording settings must be an object, got ${describe(input)}`);
    const mode = oneOf('the recording mode', input.mode ?? 'file', RECORD_MODES);
    const format = oneOf('the recording format', typeof input.format === 'string' ? input.format.toLowerCase() : (input.format ?? 'wav'), RECORDING_FORMATS);
    const dir = typeof input.direction === 'string' ? input.direction.toLowerCase() : (input.direction ?? 'rx');
    const stereo = dir === 'stereo';
    const direction = oneOf('the recording direction', dir === 'mix' || stereo ? 'both' : dir, AUDIO_DIRECTIONS, ['stereo']);
    const channels = checkChannels(input.channels, stereo, direction);
    const chunkMs = wholeNumber('the chunk length (ms)', input.chunkMs ?? DEFAULT_CHUNK_MS, MIN_CHUNK_MS, MAX_CHUNK_MS);
    const deleteOnModule = input.deleteOnModule ?? false;
    if (typeof deleteOnModule !== 'boolean') throw new InvalidInputError(`"delete on the module" must be true or false, got ${describe(deleteOnModule)}`);
    const settings: RecordSettings = { mode, format, direction, channels, chunkMs, deleteOnModule };
    if (mode !== 'stream') settings.path = checkPath(input.path, format, input.place);
    if (input.place) settings.place = input.place;
    return settings;
  }

  /** The recording options for `call`: the local file is named for the call when a folder was given. */
  optionsFor(settings: RecordSettings, call: Call, at = new Date()): RecordingOptions {
    const options: RecordingOptions = { format: settings.format, direction: settings.direction, deleteOnModule: settings.deleteOnModule };
    if (settings.channels === 2) options.channels = 2;
    if (settings.mode !== 'file') options.streamChunkMs = settings.chunkMs;
    if (settings.path) {
      const path = settings.place ? resolve(settings.place.folder, settings.path.value) : settings.path.value;
      options.file = settings.path.folder ? join(path, recordingFileName(call, settings.format, at)) : path;
    }
    return options;
  }

  /**
   * Starts recording a connected call, or an outgoing call's early media (`ref`: a call id, a call
   * snapshot, or nothing for the line's only such call). Resolves once it records, with the
   * {@link Recording}: its `chunk` events carry the stream, `end` the result (when the call ends or
   * {@link stopRecording}). A recording of early media goes on when the call is answered.
   */
  async record(ref: unknown, input: RecordRequest): Promise<Recording> {
    const settings = this.checkRecording(input);
    const call = this.line.resolveCall(ref, 'record', hasMedia);
    if (!hasMedia(call)) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected (active) call, or one in early media, can be recorded`);
    }
    return this.start(call, settings);
  }

  /** Stops the recordings of a call; resolves with their results (a failed one rejects). */
  async stopRecording(ref?: unknown): Promise<RecordingResult[]> {
    const call = this.line.resolveCall(ref, 'stop recording', (c) => (this.recordings.get(c.id)?.size ?? 0) > 0);
    return Promise.all([...(this.recordings.get(call.id) ?? [])].map((r) => r.stop()));
  }

  /**
   * Records every call of the line once it is answered, with `input`'s settings, until the returned
   * function is called. `started` gets each recording (to listen to it), `failed` each call that
   * could not be recorded.
   */
  autoRecord(input: RecordRequest, started: (rec: Recording) => void, failed: (err: Error, call: Call) => void): () => void {
    const settings = this.checkRecording(input);
    const onEvent = (e: VoiceEvent): void => {
      if (e.topic !== 'answered' || !e.call) return;
      let call: Call;
      try {
        call = this.line.resolveCall(e.call.id, 'record', () => true);
      } catch {
        return; // ended meanwhile
      }
      this.start(call, settings).then(started, (err: Error) => failed(err, call));
    };
    this.line.on('event', onEvent);
    return () => void this.line.off('event', onEvent);
  }

  /**
   * Plays audio into a connected call, after what is queued for it already. Resolves when this request
   * has played (or was stopped, interrupted by a digit, or dropped), with the call and the outcome.
   */
  async play(ref: unknown, request: PlayRequest): Promise<{ call: Call; outcome: PlayOutcome }> {
    const bargeIn = request.bargeIn ?? false;
    if (typeof bargeIn !== 'boolean') throw new InvalidInputError(`barge-in must be true or false, got ${describe(bargeIn)}`);
    const maxBytes = request.maxFileBytes ?? DEFAULT_MAX_WAV_BYTES;
    if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new InvalidInputError(`the largest file to play must be a whole number of bytes, got ${describe(maxBytes)}`);
    }
    const source = await openSource(request.source, { place: request.place, maxBytes });
    let call: Call;
    let capability: AudioCapability;
    try {
      call = this.connectedCall(ref, 'play audio into');
      capability = this.line.capability('audio', 'playing audio');
      if (bargeIn) await this.line.capability('dtmf', 'stopping playback on a DTMF key (barge-in)').enableDetection(call);
    } catch (err) {
      source.close();
      throw err;
    }
    const outcome = await new Promise<PlayOutcome>((resolve, reject) => {
      const queue = this.queues.get(call.id) ?? { items: [], current: null };
      this.queues.set(call.id, queue);
      // The queue owns the source from here: it is closed once its request is over, however it ends.
      const close = (): void => source.close();
      queue.items.push({
        source,
        bargeIn,
        resolve: (o) => {
          close();
          if (source.error && !o.stopped) reject(new FileAccessError(`cannot play ${printable(String(request.source))}: ${source.error.message}`));
          else resolve(o);
        },
        reject: (e) => {
          close();
          reject(e);
        },
      });
      if (!queue.current) this.playNext(call, queue, capability);
    });
    return { call, outcome };
  }

  /** Stops what plays into a call and drops what is queued; resolves with how many requests that ended. */
  stopPlaying(ref?: unknown): number {
    const call = this.line.resolveCall(ref, 'stop playing', (c) => this.queues.has(c.id));
    const queue = this.queues.get(call.id);
    if (!queue) return 0;
    const dropped = queue.items.splice(0);
    for (const item of dropped) item.resolve({ playedMs: 0, stopped: true, skipped: true });
    queue.current?.stop();
    return dropped.length + (queue.current ? 1 : 0);
  }

  private async start(call: Call, settings: RecordSettings): Promise<Recording> {
    const capability = this.line.capability('audio', 'recording calls');
    const options = this.optionsFor(settings, call);
    if (options.file !== undefined) {
      const place = settings.place ?? { folder: dirname(options.file), confine: false };
      try {
        options.file = await prepareForWriting(options.file, place, settings.format);
      } catch (err) {
        throw withContext(err, `cannot record to ${printable(options.file, 120)}`);
      }
    }
    const rec = await capability.record(call, options);
    const set = this.recordings.get(call.id) ?? new Set<Recording>();
    set.add(rec);
    this.recordings.set(call.id, set);
    const forget = (): void => {
      set.delete(rec);
      if (set.size === 0 && this.recordings.get(call.id) === set) this.recordings.delete(call.id);
    };
    rec.once('end', forget);
    rec.once('error', forget);
    return rec;
  }

  private playNext(call: Call, queue: PlayQueue, capability: AudioCapability): void {
    const item = queue.items.shift();
    if (!item) {
      queue.current = null;
      if (this.queues.get(call.id) === queue) this.queues.delete(call.id);
      return;
    }
    if (call.state !== CallState.Active) {
      item.resolve({ playedMs: 0, stopped: true, skipped: true });
      this.playNext(call, queue, capability);
      return;
    }
    let digit: string | undefined;
    let stopRequested = false;
    let stopNow: (() => void) | null = null;
    queue.current = {
      stop: () => {
        stopRequested = true;
        stopNow?.();
      },
    };
    const onReport = (r: CallReport): void => {
      if (r.call !== call || r.topic !== 'dtmf' || digit !== undefined) return;
      digit = String(r.payload.digit ?? '');
      queue.current?.stop();
    };
    if (item.bargeIn) this.line.on('report', onReport);
    const done = (): void => {
      this.line.off('report', onReport);
      this.playNext(call, queue, capability);
    };
    capability.play(call, item.source).then(
      (playback) => {
        stopNow = () => void playback.stop().catch(() => undefined);
        if (stopRequested) stopNow();
        playback.once('end', (r: PlaybackResult) => {
          item.resolve(digit !== undefined ? { ...r, stopped: true, digit } : r);
          done();
        });
        playback.once('error', (err: Error) => {
          item.reject(err);
          done();
        });
      },
      (err: Error) => {
        item.reject(err);
        done();
      },
    );
  }

  private connectedCall(ref: unknown, action: string): Call {
    const call = this.line.resolveCall(ref, action, (c) => c.state === CallState.Active);
    if (call.state !== CallState.Active) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected (active) call can be recorded or played into`);
    }
    return call;
  }
}

/** A call whose audio can be recorded: connected, or an outgoing call's early media (docs/audio.md). */
function hasMedia(call: Call): boolean {
  return call.state === CallState.Active || call.state === CallState.EarlyMedia;
}

/** `20261122-171005_5550100_1a2b3c4d.wav`: the start (UTC), the other party, the call id's first part. */
export function recordingFileName(call: Call, format: RecordingFormat, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const who = call.remote.number.replace(/[^0-9+]/g, '') || 'unknown';
  return `${stamp}_${who}_${call.id.slice(0, 8)}.${format}`;
}

/**
 * Opens what a flow wants played as 8 kHz mono samples: buffers and tones are decoded in memory
 * (they are there already, or short), a WAV file is checked by its size and header and then read as
 * it plays (lib/media/wav-file-source.ts).
 */
export async function openSource(source: unknown, files: { place?: FilePlace; maxBytes: number }): Promise<PcmSource> {
  let pcm: Int16Array;
  if (source instanceof Int16Array) pcm = source;
  else if (Buffer.isBuffer(source)) pcm = decodeBuffer(source);
  else if (typeof source === 'string' && source.trim() !== '') {
    const tone = toneOrNull(source.trim());
    if (!tone) return openWavFile(source.trim(), files.place, files.maxBytes);
    pcm = tone;
  } else {
    throw new InvalidInputError(
      `the audio to play must be a Buffer (WAV or 16-bit PCM), a WAV file path or a tone name (beep, ringback, silence:ms, dtmf:digits), got ${describe(source)}`,
    );
  }
  if (pcm.length === 0) throw new InvalidInputError('the audio to play is empty');
  if (pcm.length > (MAX_PLAY_MS * 8000) / 1000) throw new InvalidInputError(`the audio to play is longer than ${MAX_PLAY_MS / 60000} minutes`);
  return arraySource(pcm);
}

function decodeBuffer(buf: Buffer): Int16Array {
  if (buf.length >= 4 && buf.toString('latin1', 0, 4) === 'RIFF') {
    try {
      return decodeWav(buf);
    } catch (err) {
      throw new InvalidInputError(`msg.payload: ${(err as Error).message}`);
    }
  }
  if (buf.length % 2 !== 0) {
    throw new InvalidInputError(`msg.payload holds ${buf.length} bytes: raw 16-bit PCM has an even number of bytes (or send a WAV file)`);
  }
  return pcm16leToInt16(buf);
}

/** `beep`, `beep:300`, `ringback`, `ringback:5000`, `silence:500`, `dtmf:123#`; null for anything else. */
function toneOrNull(spec: string): Int16Array | null {
  const dtmf = /^dtmf:([0-9*#A-D]{1,64})$/i.exec(spec);
  if (dtmf) return dtmfSequence(dtmf[1].toUpperCase(), 100, 100);
  const m = /^(beep|ringback|silence)(?::(\d{1,6}))?$/i.exec(spec);
  if (!m) return null;
  const ms = m[2] === undefined ? undefined : Number(m[2]);
  if (ms !== undefined && (ms < 20 || ms > MAX_PLAY_MS)) throw new InvalidInputError(`the tone "${printable(spec)}" must last 20 to ${MAX_PLAY_MS} ms`);
  switch (m[1].toLowerCase()) {
    case 'beep':
      return beep(ms ?? 500);
    case 'ringback':
      return ringback(ms ?? 5000);
    default:
      if (ms === undefined) throw new InvalidInputError('silence needs a length: silence:<ms>');
      return silence(ms);
  }
}

async function openWavFile(path: string, place: FilePlace | undefined, maxBytes: number): Promise<PcmSource> {
  if (!/\.wav$/i.test(path)) {
    throw new InvalidInputError(`"${printable(path)}" is neither a tone (beep, ringback, silence:ms, dtmf:digits) nor a .wav file`);
  }
  if (place?.denied) throw deniedPath('msg.payload');
  if (!place && !isAbsolute(path)) throw new InvalidInputError(`the file to play must be an absolute path, got "${printable(path)}"`);
  try {
    const real = await resolveForReading(path, place ?? { folder: '/', confine: false });
    return await WavFileSource.open(real, { maxBytes, maxMs: MAX_PLAY_MS });
  } catch (err) {
    throw withContext(err, `cannot play ${printable(path, 120)}`);
  }
}

/**
 * `err` with `context` before its message, as the same kind of error (so its code stays): a system
 * error (ENOENT...) becomes a FileAccessError in words. Used once per error, so a path is named once.
 */
function withContext(err: unknown, context: string): Error {
  if (err instanceof PathNotAllowedError) return err; // it names the path already
  if (err instanceof WavFormatError) return new WavFormatError(`${context}: ${err.message}`);
  if (err instanceof InvalidInputError) return new InvalidInputError(`${context}: ${err.message}`);
  if (err instanceof VoiceError) return new FileAccessError(`${context}: ${err.message}`);
  return new FileAccessError(`${context}: ${errnoText(err)}`);
}

function checkPath(value: unknown, format: RecordingFormat, place: FilePlace | undefined): { value: string; folder: boolean } {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidInputError('recording to a file needs a folder or a file path (absolute) on this machine');
  }
  const path = value.trim();
  if (/\0/.test(path)) throw new InvalidInputError(`the recording path holds a NUL character: "${printable(path)}"`);
  if (!isAbsolute(path) && !place) throw new InvalidInputError(`the recording path must be absolute, got "${printable(path)}"`);
  const ext = /\.(wav|amr)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext && ext !== format) throw new InvalidInputError(`the file "${printable(path)}" ends in .${ext} but the format is ${format}`);
  return { value: path, folder: ext === undefined };
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[], alsoAllowed: readonly string[] = []): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new InvalidInputError(`${what} must be one of ${[...allowed, ...alsoAllowed].join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** `channels` 1 or 2 (numbers or their strings); 2 only with both legs: `stereo` says 2 by itself. */
function checkChannels(value: unknown, stereo: boolean, direction: AudioDirection): RecordingChannels {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (n !== undefined && n !== 1 && n !== 2) throw new InvalidInputError(`the recording channels must be 1 or 2, got ${describe(value)}`);
  if (stereo && n === 1) throw new InvalidInputError('a stereo recording has 2 channels (one leg each), but channels 1 was asked');
  const channels: RecordingChannels = stereo ? 2 : ((n as RecordingChannels | undefined) ?? 1);
  if (channels === 2 && direction !== 'both') {
    throw new InvalidInputError(`2 channels hold one leg each (left rx, right tx): the direction must be both (or stereo), got ${direction}`);
  }
  return channels;
}

function wholeNumber(what: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidInputError(`${what} must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  return n;
}
