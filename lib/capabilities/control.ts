import { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { CallMediaStats } from '../call/media-stats';
import { CallStateError } from '../errors';

/** Audio channel of a module (QuecPython voiceCall.setChannel: 0 handset, 1 headset, 2 speaker). */
export type AudioChannel = 'handset' | 'headset' | 'speaker';

export const AUDIO_CHANNELS: readonly AudioChannel[] = ['handset', 'headset', 'speaker'];

/** The volume scale of the contract (QuecPython voiceCall.setVolume): 0 quietest … 11 loudest. */
export const MAX_VOLUME = 11;

/**
 * Call and audio control: hold / resume / swap, mute, volume, audio channel.
 *
 * Calls:
 * - A call's state changes (`held`, `resumed`, `answered`) MUST come out of the backend's own
 *   reconciliation (what the network or module reports), exactly once each, never from the method
 *   that asked for them. The methods MUST resolve only once the change has been seen (so the event
 *   has gone out and `call.state` is the new state), and MUST reject with a CallStateError, before
 *   anything reaches the network, when the calls are not in a shape where the request means what it
 *   says (holding while another call waits would answer that call instead).
 *
 * Audio:
 * - Arguments are already validated by the line (`level` an integer 0–11, `channel` one of
 *   {@link AUDIO_CHANNELS}).
 * - A module without the command MUST give a NotSupportedError naming the module.
 * - A setting the module forgets on restart (mute) MUST be re-applied by the backend when the line
 *   comes back; settings the module keeps are left to it.
 */
export interface ControlCapability {
  /** Puts the active `call` on hold. CallStateError when another call is held or waiting. */
  hold(call: Call): Promise<void>;
  /** Takes the held `call` back. CallStateError when another call is active or waiting. */
  resume(call: Call): Promise<void>;
  /**
   * Holds the active call and makes the held (or waiting) one active. Resolves with both, as they are
   * afterwards. CallStateError when there is not exactly one active and one held or waiting call.
   */
  swap(): Promise<{ active: Call; held: Call }>;

  /** Mutes (`true`) or unmutes the microphone (uplink) of the calls. */
  setMute(on: boolean): Promise<void>;
  getMute(): Promise<boolean>;
  /**
   * Mutes or unmutes one call's uplink, whatever the line's mute (a call is silent while either is
   * on). Absent: the line can only mute all its calls at once (a module's microphone).
   */
  setCallMute?(call: Call, on: boolean): Promise<void>;
  /** The figures of a call's media now (lib/call/media-stats.ts). Absent: the line has none (AT). */
  callStats?(call: Call): CallMediaStats;
  /** `level` 0–11 (voiceCall's scale), mapped onto the module's own range. */
  setVolume(level: number): Promise<void>;
  /** The module's volume on the 0–11 scale. */
  getVolume(): Promise<number>;
  setChannel(channel: AudioChannel): Promise<void>;
  /** The module's audio channel; `null` when it is in a mode outside the three (e.g. audio processing off). */
  getChannel(): Promise<AudioChannel | null>;
}

/**
 * The two calls a swap works on, the same rule on every backend: exactly one active call and one held
 * or waiting call. Throws CallStateError naming what the line has otherwise.
 */
export function swapPair(calls: readonly Call[]): { active: Call; next: Call } {
  const live = calls.filter((c) => !c.ended);
  const active = live.filter((c) => c.state === CallState.Active);
  const others = live.filter((c) => c.state === CallState.Held || c.state === CallState.Waiting);
  if (active.length !== 1 || others.length !== 1) {
    const shape = live.length === 0 ? 'no calls' : live.map((c) => c.state).join(', ');
    throw new CallStateError(`swap needs one active call and one held or waiting call; this line has ${shape}`);
  }
  return { active: active[0], next: others[0] };
}
