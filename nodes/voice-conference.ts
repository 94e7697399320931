import { resolve } from 'node:path';
import type { Call } from '../lib/call/call';
import { PARTY_MEDIA_NAMES } from '../lib/conference/room-media';
import type { FilePlace } from '../lib/line/file-paths';
import type { PartyOptions, RoomEvent, RoomSnapshot } from '../lib/conference/rooms';
import { CONFERENCE_ACTIONS, ConferenceAction, ConferenceFiles, PartyResult } from '../lib/line/line-conference';
import type { VoiceLine } from '../lib/line/voice-line';
import { describe } from '../lib/validate';
import { FlowError } from './shared/flow-error';
import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, NodeMessage, Node } from './shared/red-types';

interface VoiceConferenceDef extends NodeDef {
  line?: string;
  /** One of {@link CONFERENCE_ACTIONS}. */
  action?: string;
  /** The room (join, end, get-room); `msg.room` overrides it. */
  room?: string;
  /** join: the party's options (checkboxes and a level). */
  muted?: boolean;
  deaf?: boolean;
  moderator?: boolean;
  startsRoom?: boolean;
  endsRoom?: boolean;
  beepOnEntry?: boolean;
  /** A DTMF key that takes the party out / toggles its mute; empty: none. */
  leaveDigit?: string;
  muteDigit?: string;
  /** A DTMF key that unmutes the party (then muteDigit only mutes); empty: none. */
  unmuteDigit?: string;
  talkThreshold?: string | number;
  /** join: the party's tags, comma-separated; empty: none. */
  tags?: string;
  /** join: the tag this party whispers to; empty: heard by everyone. */
  whisperTo?: string;
  /** join: the party's media (a voice-play tone or a .wav path); empty: none (waitMedia: ring-back). */
  prefixMedia?: string;
  entryMedia?: string;
  exitMedia?: string;
  waitMedia?: string;
  /** join that creates the room: its options; empty: no limit / not recorded. */
  maxParties?: string | number;
  record?: string;
  /**
   * Where relative media and recording paths are resolved; a path from a message must stay inside it.
   * Empty: Node-RED's `fileWorkingDirectory` setting, else its user directory.
   */
  folder?: string;
}

/**
 * `voice-conference`: conference rooms (docs/conference.md). Output 1: the message on, with
 * `msg.payload` the room as it is after the action (`null` for get-room of a room that does not
 * exist) and `msg.call` the call acted on. Output 2: the line's room events (`room-start`, `join`,
 * `leave`, `talking`, `silent`, `room-end`) as `{ topic, room, payload }`.
 */
export = function register(RED: NodeAPI): void {
  function VoiceConferenceNode(this: Node, def: VoiceConferenceDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    let stopEvents: (() => void) | null = null;
    try {
      stopEvents = session.requireLine().conference.onEvent((ev: RoomEvent) => {
        if (session.open) node.send([null, { topic: ev.topic, room: ev.room, payload: RED.util.cloneMessage(ev) }]);
      });
    } catch {
      // No usable line: the status says so, and each message fails with the reason.
    }
    node.on('close', () => stopEvents?.());
    const folder = resolve((def.folder ?? '').trim() || RED.settings?.fileWorkingDirectory || RED.settings?.userDir || '.');

    onInput(node, session, async (msg, line, send) => {
      const action = msg.action ?? def.action ?? 'join';
      if (typeof action !== 'string' || !(CONFERENCE_ACTIONS as readonly string[]).includes(action)) {
        throw new FlowError(`the action must be one of ${CONFERENCE_ACTIONS.join(', ')}, got ${describe(action)}`, 'EINVAL');
      }
      const room = (): unknown => msg.room ?? (def.room || undefined);
      const { payload, call } = await act(line, action as ConferenceAction, msg, room, partyOptions(def, msg), () => ({
        roomOptions: roomOptions(def, msg),
        files: filePlaces(folder, msg),
      }));
      if (call) {
        session.follow(call);
        msg.call = call.snapshot();
      }
      msg.action = action;
      if (payload) msg.room = payload.name;
      msg.payload = payload;
      send([msg, null]);
    });
  }

  RED.nodes.registerType('voice-conference', VoiceConferenceNode);
};

async function act(
  line: VoiceLine,
  action: ConferenceAction,
  msg: NodeMessage,
  room: () => unknown,
  options: () => unknown,
  extras: () => { roomOptions: unknown; files: ConferenceFiles },
): Promise<{ payload: RoomSnapshot | null; call?: Call }> {
  const c = line.conference;
  const party = (r: PartyResult): { payload: RoomSnapshot; call: Call } => ({ payload: r.room, call: r.call });
  switch (action) {
    case 'join':
      return party(await c.join(msg.call, room(), options(), extras()));
    case 'leave':
      return party(await c.leave(msg.call));
    case 'kick':
      return party(await c.kick(msg.call));
    case 'mute':
    case 'unmute':
      return party(await c.setMuted(msg.call, action === 'mute'));
    case 'deaf':
    case 'undeaf':
      return party(await c.setDeaf(msg.call, action === 'deaf'));
    case 'bridge': {
      const r = await c.bridge(msg.call, msg.target);
      msg.target = r.target.snapshot();
      return { payload: r.room, call: r.call };
    }
    case 'end':
      return { payload: await c.end(room()) };
    case 'get-room':
      return { payload: c.getRoom(room()) };
    case 'mute-all':
    case 'unmute-all':
      return { payload: await c.setAllMuted(room(), action === 'mute-all') };
  }
}

/** join: the node's options, then `msg.party` (an object of the same names) over them. */
function partyOptions(def: VoiceConferenceDef, msg: NodeMessage): () => unknown {
  return () => {
    const own: Partial<PartyOptions> = {
      muted: def.muted === true,
      deaf: def.deaf === true,
      moderator: def.moderator === true,
      startsRoom: def.startsRoom !== false,
      endsRoom: def.endsRoom === true,
      beepOnEntry: def.beepOnEntry === true,
    };
    if (def.leaveDigit) own.leaveDigit = def.leaveDigit;
    if (def.muteDigit) own.muteDigit = def.muteDigit;
    if (def.unmuteDigit) own.unmuteDigit = def.unmuteDigit;
    if (def.tags) own.tags = def.tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
    if (def.whisperTo) own.whisperTo = def.whisperTo.trim();
    if (def.talkThreshold !== undefined && def.talkThreshold !== '') own.talkThresholdDbfs = Number(def.talkThreshold);
    for (const name of PARTY_MEDIA_NAMES) if (def[name]) own[name] = def[name];
    const p = msg.party;
    if (p === undefined || p === null) return own;
    if (typeof p !== 'object' || Array.isArray(p)) {
      throw new FlowError(`msg.party must be an object of party options like { "muted": true, "endsRoom": true }, got ${describe(p)}`, 'EINVAL');
    }
    return { ...own, ...(p as object) };
  };
}

/** join: the node's room options, then `msg.roomOptions` over them (used when the join creates the room). */
function roomOptions(def: VoiceConferenceDef, msg: NodeMessage): unknown {
  const own: Record<string, unknown> = {};
  if (def.maxParties !== undefined && def.maxParties !== '') own.maxParties = def.maxParties;
  if (def.record) own.record = def.record;
  const r = msg.roomOptions;
  if (r === undefined || r === null) return own;
  if (typeof r !== 'object' || Array.isArray(r)) {
    throw new FlowError(`msg.roomOptions must be an object like { "maxParties": 10, "record": "room.wav" }, got ${describe(r)}`, 'EINVAL');
  }
  return { ...own, ...(r as object) };
}

/** Paths typed in the node are the user's own; those from the message (msg.party, msg.roomOptions) stay inside the folder. */
function filePlaces(folder: string, msg: NodeMessage): ConferenceFiles {
  const own: FilePlace = { folder, confine: false };
  const fromMessage: FilePlace = { folder, confine: true };
  const given = (o: unknown, key: string): boolean => typeof o === 'object' && o !== null && (o as Record<string, unknown>)[key] !== undefined;
  return (option) => (given(option === 'record' ? msg.roomOptions : msg.party, option) ? fromMessage : own);
}
