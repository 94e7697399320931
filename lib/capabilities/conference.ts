import type { Call } from '../call/call';
import type { RoomRecording } from '../conference/room-recorder';

/**
 * Conference rooms (docs/conference.md): the media side a backend gives. The rooms themselves (who
 * is in which, lifetime, events) are backend-neutral (lib/conference/rooms.ts); a backend mixes.
 *
 * - {@link ConferenceCapability.openRoom} gives one room's media: ONE mixer, run in ONE thread (the
 *   thread where the first party's audio runs), on that thread's media clock.
 * - `add` MUST reject with a CallStateError when the call has no audio here (ended, not connected),
 *   and MUST NOT change anything then.
 * - A party's talk changes are reported with `onTalk` (from its received audio), until it is removed.
 */
export interface ConferenceCapability {
  openRoom(name: string, onTalk: (call: Call, talking: boolean, levelDbfs: number) => void, options?: RoomMediaOptions): RoomMedia;
}

export interface RoomMediaOptions {
  /** Record the room's mix to this WAV file (a path ready to write), in the thread that mixes it. */
  record?: string;
}

export interface RoomPartyMedia {
  /** Contributes nothing to the others. */
  muted: boolean;
  /** Hears nothing. */
  deaf: boolean;
  /** Talk detection threshold on the party's received audio, dBFS. */
  talkThresholdDbfs: number;
  /** The party's tags: it hears who whispers to one of them (default none). */
  tags?: readonly string[];
  /** A tag: only the parties carrying it hear this party (whisper); unset: everyone. */
  whisperTo?: string | null;
  /** What this party hears, looped, while the room waits (its waitMedia); none: ring-back. */
  waitAudio?: Int16Array;
}

export interface RoomMedia {
  /** Puts a call into the mix: from the next tick it sends what the room gives it. */
  add(call: Call, party: RoomPartyMedia): Promise<void>;
  update(call: Call, party: Pick<RoomPartyMedia, 'muted' | 'deaf'>): void;
  /** Takes a call out: it sends silence (or what is queued to play) again. Nothing for a call not in it. */
  remove(call: Call): Promise<void>;
  /** Plays audio (8 kHz samples) to the whole room once, on top of the parties (an entry beep); `except` does not hear it. */
  play(audio: Int16Array, except?: Call): void;
  /** Mixing (`true`), or every party hears the waiting audio (ring-back) while the room has not started. */
  setStarted(started: boolean): void;
  /** The room ended: every party is out, the mixer stops; the recording (when asked for) is closed and given. */
  close(): Promise<RoomRecording | null | void>;
}
