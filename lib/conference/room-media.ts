/**
 * A party's media and a room's options (docs/conference.md, "Party media" and "Room options"):
 *
 * - `prefixMedia`, `entryMedia`, `exitMedia`: played to the room (the other parties) when the party
 *   enters / leaves, the prefix first (Aculab's "<name> … has entered");
 * - `waitMedia`: played to this party, looped, while the room waits to start (default ring-back).
 *
 * A media value is what `voice-play` takes as a path or a tone (`beep`, `beep:300`, `ringback`,
 * `silence:500`, `dtmf:123`, a `.wav` file): it is opened by voice-play's own `openSource`
 * (lib/line/line-audio.ts: the same tones, the same file rules and limits) and read whole into
 * memory when the party joins, so that the thread mixing the room has it at hand.
 *
 * Room options, taken from the join that creates the room: `maxParties` (1–1000) and `record` (a
 * `.wav` path: the room's mix, lib/conference/room-recorder.ts).
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { CallStateError, FileAccessError, InvalidInputError, PathNotAllowedError } from '../errors';
import { deniedPath, errnoText, FilePlace, prepareForWriting } from '../line/file-paths';
import { openSource } from '../line/line-audio';
import type { PcmSource } from '../media/pcm-source';
import { concat } from '../media/tone-generator';
import { DEFAULT_MAX_WAV_BYTES } from '../media/wav-file-source';
import { describe, printable } from '../validate';

export const PARTY_MEDIA_NAMES = ['prefixMedia', 'entryMedia', 'exitMedia', 'waitMedia'] as const;
export type PartyMediaName = (typeof PARTY_MEDIA_NAMES)[number];

/** The media options of a party as given (tone names or paths); `null`: none. */
export type PartyMediaSpec = Partial<Record<PartyMediaName, string | null>>;

/** A party's media, read (8 kHz samples). */
export interface PartyAudio {
  prefix?: Int16Array;
  entry?: Int16Array;
  exit?: Int16Array;
  wait?: Int16Array;
}

export interface RoomOptions {
  /** Joins into a room with this many parties fail (1–1000; default: no limit). */
  maxParties?: number;
  /** The room's mix is recorded to this WAV file (resolved, ready to write). */
  record?: string;
}

export const MAX_PARTIES_LIMIT = 1000;
const ROOM_OPTION_NAMES = ['maxParties', 'record'] as const;

/** One media option: a non-empty string (checked fully when opened), or null / '' (none). */
export function checkMediaValue(name: PartyMediaName, value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidInputError(`${name} must be a tone (beep, beep:300, ringback, silence:500, dtmf:123) or a .wav file path, got ${describe(value)}`);
  }
  return value.trim();
}

/**
 * Reads a party's media into memory: each value is opened as voice-play opens it (`place`: where a
 * relative path is resolved and whether it must stay there, per option). InvalidInputError /
 * FileAccessError / WavFormatError naming the option.
 */
export async function loadPartyAudio(spec: PartyMediaSpec, place: (name: PartyMediaName) => FilePlace | undefined): Promise<PartyAudio> {
  const out: PartyAudio = {};
  const keys: Record<PartyMediaName, keyof PartyAudio> = { prefixMedia: 'prefix', entryMedia: 'entry', exitMedia: 'exit', waitMedia: 'wait' };
  for (const name of PARTY_MEDIA_NAMES) {
    const value = spec[name];
    if (!value) continue;
    let source: PcmSource;
    try {
      source = await openSource(value, { place: place(name), maxBytes: DEFAULT_MAX_WAV_BYTES });
    } catch (err) {
      if (err instanceof Error) err.message = `${name}: ${err.message}`;
      throw err;
    }
    out[keys[name]] = await readAll(source);
  }
  return out;
}

/**
 * Every sample of a source (voice-play's sources hand a file out a little at a time as it is read:
 * this waits for the reader between takes; its length is bounded by voice-play's 10-minute limit).
 */
async function readAll(source: PcmSource): Promise<Int16Array> {
  const all = new Int16Array(source.length);
  try {
    let at = 0;
    while (at < source.length && !source.error) {
      const part = source.take(source.length - at);
      all.set(part, at);
      at += part.length;
      if (part.length === 0) await new Promise((r) => setTimeout(r, 1));
    }
    if (source.error) throw source.error;
    return at === all.length ? all : all.subarray(0, at);
  } finally {
    source.close();
  }
}

/**
 * Room options: `maxParties` (a whole number 1–1000) and `record` (a `.wav` path: absolute, or
 * relative to `place.folder`; from a message it must stay inside it). Resolves with the record path
 * made ready for writing (lib/line/file-paths.ts `prepareForWriting`: an existing file is replaced
 * only if it is a WAV recording).
 */
export async function checkRoomOptions(value: unknown, place?: FilePlace): Promise<RoomOptions> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(`the room options must be an object, got ${describe(value)}`);
  const out: RoomOptions = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null || v === '') continue;
    if (!(ROOM_OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidInputError(`unknown room option ${JSON.stringify(key)}: the options are ${ROOM_OPTION_NAMES.join(', ')}`);
    }
    if (key === 'maxParties') {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTIES_LIMIT) {
        throw new InvalidInputError(`maxParties must be a whole number from 1 to ${MAX_PARTIES_LIMIT}, got ${describe(v)}`);
      }
      out.maxParties = n;
    } else {
      out.record = await recordPath(v, place);
    }
  }
  return out;
}

async function recordPath(value: unknown, place: FilePlace | undefined): Promise<string> {
  if (typeof value !== 'string' || !/\.wav$/i.test(value.trim()) || /\0/.test(value)) {
    throw new InvalidInputError(`record must be the path of a .wav file, got ${describe(value)}`);
  }
  const path = value.trim();
  if (place?.denied) throw deniedPath('msg.roomOptions.record');
  if (!place && !isAbsolute(path)) throw new InvalidInputError(`the room recording path must be absolute, got "${printable(path)}"`);
  try {
    const real = await prepareForWriting(path, place ?? { folder: '/', confine: false }, 'wav');
    await fsp.access(dirname(real), constants.W_OK).catch((err: unknown) => {
      throw new FileAccessError(`its folder cannot be written (${errnoText(err)})`);
    });
    return real;
  } catch (err) {
    if (err instanceof PathNotAllowedError) throw err;
    if (err instanceof Error) err.message = `cannot record the room to ${printable(path, 120)}: ${err.message}`;
    throw err;
  }
}

/** What the room hears as a party enters: its prefix, then its entry media (`null`: nothing). */
export function entryAudio(a: PartyAudio): Int16Array | null {
  return joined(a.prefix, a.entry);
}

/** What the room hears as a party leaves: its prefix, then its exit media (`null`: nothing). */
export function exitAudio(a: PartyAudio): Int16Array | null {
  return joined(a.prefix, a.exit);
}

function joined(prefix: Int16Array | undefined, main: Int16Array | undefined): Int16Array | null {
  if (!main) return null; // a prefix alone announces nothing
  return prefix ? concat([prefix, main]) : main;
}

/** A join into a full room: names the room and its limit. */
export function fullRoomError(room: string, maxParties: number): CallStateError {
  return new CallStateError(`room ${room} is full: it takes at most ${maxParties} ${maxParties === 1 ? 'party' : 'parties'} (room option maxParties)`);
}
