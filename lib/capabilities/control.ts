import { Call } from '../call/call';

/** Audio channel of a module (QuecPython voiceCall.setChannel). */
export type AudioChannel = 'handset' | 'headset' | 'speaker';

/**
 * Call and audio control: hold / resume / swap, mute, volume, audio channel.
 */
export interface ControlCapability {
  hold(call: Call): Promise<void>;
  resume(call: Call): Promise<void>;
  /** Holds the active call and makes the held (or waiting) one active. */
  swap(): Promise<void>;
  setMute(on: boolean): Promise<void>;
  /** `level` 0–11 (voiceCall's scale), mapped onto the module's own range. */
  setVolume(level: number): Promise<void>;
  getVolume(): Promise<number>;
  setChannel(channel: AudioChannel): Promise<void>;
}
