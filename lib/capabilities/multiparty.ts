import type { EventEmitter } from 'node:events';
import type { Call } from '../call/call';
import { DEFAULT_PARTY_OPTIONS, RoomEvent, RoomSnapshot } from '../conference/rooms';
import { NotSupportedError } from '../errors';

/**
 * The network's own multiparty call (3GPP TS 22.084) as a line's one conference room (docs/conference.md,
 * "AT lines"): the network mixes, so a backend with this capability keeps the room itself, from what
 * the module reports, and `voice-conference` hands it the room actions. Room events are emitted as
 * `event`, with the same topics and payloads as the rooms of lib/conference/rooms.ts.
 *
 * - One room per line: a join naming another room while one exists rejects with a NotSupportedError.
 * - Party options other than `moderator` (a label), and actions other than these, are refused by the
 *   line (a NotSupportedError: "… is not on this line (AT: the network's three-party call)").
 */
export interface MultipartyCapability extends EventEmitter<{ event: [RoomEvent] }> {
  /** Puts a connected call into the room (the network's multiparty call), created on first use. */
  join(call: Call, room: string, options: { moderator: boolean }): Promise<RoomSnapshot>;
  /** Splits a party out (private communication): its call stays up, the rest of the room is held. */
  leave(call: Call): Promise<RoomSnapshot>;
  /** Releases a party's call: the party leaves (`kicked`) and its call ends; the room goes on. */
  kick(call: Call): Promise<RoomSnapshot>;
  /** Releases every party's call: each leaves (`room-ended`), then `room-end`. */
  end(room: string): Promise<RoomSnapshot>;
  get(room: string): RoomSnapshot | null;
  roomNameOf(call: Call): string | null;
}

/** The words every refusal on such a line ends with. */
export const MULTIPARTY_ONLY = "is not on this line (AT: the network's three-party call)";

/** A NotSupportedError for what the network's multiparty call cannot do: "mute is not on this line (AT: …)". */
export function notOnMultiparty(what: string): NotSupportedError {
  return new NotSupportedError(`${what} ${MULTIPARTY_ONLY}: the network mixes the call, and gives no control over a party's audio`);
}

/**
 * The party options a multiparty call takes: `moderator` (a label). Any other option (checked by the
 * line first) given a value other than its default (media: a beep, digits, wait media, whisper...;
 * lifetime: `startsRoom: false`, `endsRoom`) is refused with a NotSupportedError naming it.
 */
export function multipartyOptions(options: Record<string, unknown>): { moderator: boolean } {
  const defaults = DEFAULT_PARTY_OPTIONS as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    if (key === 'moderator' || value === undefined || value === null || value === defaults[key]) continue;
    if (!(key in defaults) && (value === '' || value === false || (Array.isArray(value) && value.length === 0))) continue;
    throw notOnMultiparty(`the party option ${key}`);
  }
  return { moderator: options.moderator === true };
}
