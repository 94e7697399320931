import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { ConferenceCapability } from '../capabilities/conference';
import { MultipartyCapability, multipartyOptions, notOnMultiparty } from '../capabilities/multiparty';
import { checkMediaValue, checkRoomOptions, loadPartyAudio, PARTY_MEDIA_NAMES, PartyMediaName } from '../conference/room-media';
import { ConferenceRooms, PartyOptions, RoomEvent, RoomSnapshot } from '../conference/rooms';
import { CallStateError, InvalidInputError, LineNotReadyError, NotSupportedError } from '../errors';
import { describe } from '../validate';
import type { FilePlace } from './file-paths';
import type { VoiceLine } from './voice-line';

/** The actions of `voice-conference` (docs/conference.md). */
export const CONFERENCE_ACTIONS = ['join', 'leave', 'mute', 'unmute', 'deaf', 'undeaf', 'kick', 'end', 'get-room', 'bridge', 'mute-all', 'unmute-all'] as const;
export type ConferenceAction = (typeof CONFERENCE_ACTIONS)[number];

/** What a party action gives: the call, and its room as it is afterwards. */
export interface PartyResult {
  call: Call;
  room: RoomSnapshot;
}

/** The longest room name. */
export const MAX_ROOM_NAME = 100;

const PARTY_OPTION_NAMES = ['muted', 'deaf', 'moderator', 'startsRoom', 'endsRoom', 'talkThresholdDbfs', 'beepOnEntry', 'leaveDigit', 'muteDigit', 'unmuteDigit', 'tags', 'whisperTo', ...PARTY_MEDIA_NAMES] as const;

/** A tag (`tags`, `whisperTo`): 1–50 characters, no spaces or commas (the node's field is a comma-separated list). */
const TAG = /^[^\s,]{1,50}$/;
/** The most tags one party carries. */
export const MAX_TAGS = 20;

/**
 * Where the files a join names are (party media, the room recording), per option name: relative
 * paths are resolved against `folder`; a path from a message stays inside it (lib/line/file-paths.ts).
 * None: paths must be absolute.
 */
export type ConferenceFiles = (option: PartyMediaName | 'record') => FilePlace | undefined;

/** A join's extras: the room's options (used when the join creates the room) and where its files are. */
export interface JoinExtras {
  roomOptions?: unknown;
  files?: ConferenceFiles;
}

/**
 * The line's conference rooms (docs/conference.md): validates what a flow gives, resolves the
 * call, and runs the rooms (lib/conference/rooms.ts) over the backend's `conference` capability,
 * which mixes. Room events (`room-start`, `join`, `leave`, `talking`, `silent`, `room-end`) are
 * emitted as `event` by {@link LineConference.rooms}. On a line whose network mixes (AT: the
 * backend's `multiparty`, the network's multiparty call) the actions go to the backend instead, and
 * what it cannot do is refused with a NotSupportedError (docs/conference.md, "AT lines").
 */
export class LineConference {
  readonly rooms: ConferenceRooms;
  /** The backend's multiparty call whose events reach {@link onEvent}'s listeners (AT; see {@link network}). */
  private linked: MultipartyCapability | null = null;

  constructor(readonly line: VoiceLine) {
    this.rooms = new ConferenceRooms(() => this.capability());
  }

  /**
   * Puts a connected call into room `name` (created on first use) with the party's options; a call in
   * another room moves. `ref`: a call id or snapshot; none: the line's only connected call in no room.
   * `extras.roomOptions` (`maxParties`, `record`) count only when this join creates the room. The
   * party's media files are read, and the recording's path checked, before anything changes.
   */
  async join(ref: unknown, name: unknown, options: unknown = {}, extras: JoinExtras = {}): Promise<PartyResult> {
    const room = checkRoomName(name);
    const o = checkPartyOptions(options);
    const net = this.network();
    if (net) {
      const opts = multipartyOptions(o as Record<string, unknown>);
      const r = extras.roomOptions;
      if (r !== undefined && r !== null && typeof r === 'object') {
        for (const [key, v] of Object.entries(r)) if (v !== undefined && v !== null && v !== '') throw notOnMultiparty(`the room option ${key}`);
      }
      const fits = (c: Call): boolean => (c.state === CallState.Active || c.state === CallState.Held) && net.roomNameOf(c) === null;
      const call = this.line.resolveCall(ref, 'join to a conference room', fits);
      return { call, room: await net.join(call, room, opts) };
    }
    this.capability();
    const call = this.line.resolveCall(ref, 'join to a conference room', (c) => c.state === CallState.Active && this.rooms.roomNameOf(c) === null);
    const files: ConferenceFiles = extras.files ?? (() => undefined);
    const exists = this.rooms.get(room) !== null;
    const roomOptions = exists ? {} : await checkRoomOptions(extras.roomOptions, files('record'));
    const audio = await loadPartyAudio(o, files);
    return { call, room: await this.rooms.join(call, room, o, { audio, room: roomOptions }) };
  }

  /**
   * Connects two connected calls to each other (click-to-call on a trunk that refuses REFER): a
   * two-party room named `bridge:<first call id>` where both parties end the room when they leave,
   * so the bridge ends when either call leaves or ends (the other call stays up). Its events are
   * room events like any room's. Both calls must be named (a call id or snapshot each), and differ.
   */
  async bridge(ref: unknown, target: unknown): Promise<{ call: Call; target: Call; room: RoomSnapshot }> {
    if (ref === undefined || ref === null || ref === '' || target === undefined || target === null || target === '') {
      throw new InvalidInputError('a bridge needs two calls: msg.call and msg.target (call ids or call objects)');
    }
    if (this.network()) throw notOnMultiparty('bridge');
    this.capability();
    const a = this.line.resolveCall(ref, 'bridge', () => true);
    const b = this.line.resolveCall(target, 'bridge', () => true);
    if (a === b) throw new InvalidInputError(`a call cannot be bridged to itself (${a.id})`);
    for (const c of [a, b]) {
      if (c.state !== CallState.Active) throw new CallStateError(`call ${c.id} is ${c.state}: only connected calls can be bridged`);
    }
    const name = `bridge:${a.id}`;
    await this.rooms.join(a, name, { endsRoom: true });
    try {
      return { call: a, target: b, room: await this.rooms.join(b, name, { endsRoom: true }) };
    } catch (err) {
      await this.rooms.leave(a).catch(() => undefined);
      throw err;
    }
  }

  /** Takes a call out of its room (`ref`: none means the line's only call in a room). */
  async leave(ref: unknown): Promise<PartyResult> {
    const call = this.partyCall(ref, 'take out of its conference room');
    const net = this.network();
    return { call, room: await (net ? net.leave(call) : this.rooms.leave(call, 'left')) };
  }

  /** As leave, reported `kicked`. The call stays up (AT: it is released, `AT+CHLD=1x`). */
  async kick(ref: unknown): Promise<PartyResult> {
    const call = this.partyCall(ref, 'kick out of its conference room');
    const net = this.network();
    return { call, room: await (net ? net.kick(call) : this.rooms.leave(call, 'kicked')) };
  }

  async setMuted(ref: unknown, muted: boolean): Promise<PartyResult> {
    if (this.network()) throw notOnMultiparty(muted ? 'mute' : 'unmute');
    const call = this.partyCall(ref, muted ? 'mute in its room' : 'unmute in its room');
    return { call, room: await this.rooms.update(call, { muted }) };
  }

  async setDeaf(ref: unknown, deaf: boolean): Promise<PartyResult> {
    if (this.network()) throw notOnMultiparty(deaf ? 'deaf' : 'undeaf');
    const call = this.partyCall(ref, deaf ? 'make deaf in its room' : 'let hear in its room');
    return { call, room: await this.rooms.update(call, { deaf }) };
  }

  async end(name: unknown): Promise<RoomSnapshot> {
    const room = checkRoomName(name);
    const net = this.network();
    return net ? net.end(room) : this.rooms.end(room);
  }

  /** `mute-all` / `unmute-all`: every party of the room but the moderators (lib/conference/rooms.ts `setAllMuted`). */
  async setAllMuted(name: unknown, muted: boolean): Promise<RoomSnapshot> {
    if (this.network()) throw notOnMultiparty(muted ? 'mute-all' : 'unmute-all');
    return this.rooms.setAllMuted(checkRoomName(name), muted);
  }

  /** A room now: `null` when there is no room of that name. */
  getRoom(name: unknown): RoomSnapshot | null {
    const room = checkRoomName(name);
    const net = this.line.backend?.multiparty;
    return net ? net.get(room) : this.rooms.get(room);
  }

  /** Room events, for a listener (the voice-conference node). Returns the function that stops it. */
  onEvent(listener: (ev: RoomEvent) => void): () => void {
    this.rooms.on('event', listener);
    return () => this.rooms.off('event', listener);
  }

  private partyCall(ref: unknown, action: string): Call {
    const rooms = this.network() ?? this.rooms;
    return this.line.resolveCall(ref, action, (c) => rooms.roomNameOf(c) !== null);
  }

  /**
   * The backend's multiparty call when the network mixes (an AT line: docs/conference.md, "AT
   * lines"), its events passed on to this line's listeners; null on a line that mixes its rooms.
   */
  private network(): MultipartyCapability | null {
    const net = this.line.backend?.multiparty;
    if (!net) return null;
    if (!this.line.backend?.ready) throw new LineNotReadyError('the line is not ready');
    if (this.linked !== net) {
      // A new backend (the line restarted): its room events go to the same listeners.
      net.on('event', (ev) => this.rooms.emit('event', ev));
      this.linked = net;
    }
    return net;
  }

  private capability(): ConferenceCapability {
    const backend = this.line.backend;
    if (backend && !backend.conference) {
      throw new NotSupportedError(`conference rooms are not supported on this line yet (${backend.description})`);
    }
    if (!backend || !backend.ready) throw new LineNotReadyError('the line is not ready');
    return backend.conference as ConferenceCapability;
  }
}

/** A room name: 1–100 characters, not blank. */
export function checkRoomName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_ROOM_NAME) {
    throw new InvalidInputError(`the room must be a name of 1 to ${MAX_ROOM_NAME} characters, got ${describe(value)}`);
  }
  return value;
}

/**
 * A party's options: `muted`, `deaf`, `moderator`, `startsRoom`, `endsRoom`, `beepOnEntry` (true /
 * false), `talkThresholdDbfs` (−90 to 0), `leaveDigit` / `muteDigit` / `unmuteDigit` (one DTMF key; different keys),
 * `tags` (a list of tags, or a comma-separated string of them), `whisperTo` (one tag, or empty: none).
 * `prefixMedia` / `entryMedia` / `exitMedia` / `waitMedia` (a tone or a .wav path, read at the join).
 */
export function checkPartyOptions(value: unknown): Partial<PartyOptions> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(`the party options must be an object, got ${describe(value)}`);
  const out: Partial<PartyOptions> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!(PARTY_OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidInputError(`unknown party option ${JSON.stringify(key)}: the options are ${PARTY_OPTION_NAMES.join(', ')}`);
    }
    if (key === 'talkThresholdDbfs') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < -90 || v > 0) {
        throw new InvalidInputError(`talkThresholdDbfs must be a level from -90 to 0 dBFS, got ${describe(v)}`);
      }
      out.talkThresholdDbfs = v;
    } else if (key === 'tags') {
      out.tags = checkTags(v);
    } else if (key === 'whisperTo') {
      if (v === null || v === '') {
        out.whisperTo = null;
        continue;
      }
      if (typeof v !== 'string' || !TAG.test(v.trim())) throw new InvalidInputError(`whisperTo must be one tag (1 to 50 characters, no spaces or commas), got ${describe(v)}`);
      out.whisperTo = v.trim();
    } else if ((PARTY_MEDIA_NAMES as readonly string[]).includes(key)) {
      out[key as PartyMediaName] = checkMediaValue(key as PartyMediaName, v);
    } else if (key === 'leaveDigit' || key === 'muteDigit' || key === 'unmuteDigit') {
      if (v === null || v === '') {
        out[key] = null;
        continue;
      }
      if (typeof v !== 'string' || !/^[0-9*#A-Da-d]$/.test(v)) throw new InvalidInputError(`${key} must be one DTMF key (0-9, *, #, A-D), got ${describe(v)}`);
      out[key] = v.toUpperCase();
    } else {
      if (typeof v !== 'boolean') throw new InvalidInputError(`${key} must be true or false, got ${describe(v)}`);
      (out as Record<string, boolean>)[key] = v;
    }
  }
  const keys = (['leaveDigit', 'muteDigit', 'unmuteDigit'] as const).filter((k) => out[k]);
  for (const [i, a] of keys.entries()) {
    const b = keys.slice(i + 1).find((k) => out[k] === out[a]);
    if (b) throw new InvalidInputError(`${a} and ${b} must be different keys, both are ${out[a]}`);
  }
  return out;
}

/** `tags`: a list of tags or a comma-separated string of them; duplicates dropped, order kept. */
function checkTags(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((t) => t.trim()).filter((t) => t !== '') : value;
  if (!Array.isArray(list)) throw new InvalidInputError(`tags must be a list of tags like ["agent"] (or "agent, sales"), got ${describe(value)}`);
  const tags: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string' || !TAG.test(t)) throw new InvalidInputError(`each tag must be 1 to 50 characters without spaces or commas, got ${describe(t)}`);
    if (!tags.includes(t)) tags.push(t);
  }
  if (tags.length > MAX_TAGS) throw new InvalidInputError(`a party carries at most ${MAX_TAGS} tags, got ${tags.length}`);
  return tags;
}
