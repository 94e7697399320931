import { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { CallMediaStats } from '../call/media-stats';
import { AUDIO_CHANNELS, AudioChannel, ControlCapability, MAX_VOLUME } from '../capabilities';
import { InvalidInputError, LineNotReadyError, NotSupportedError } from '../errors';
import { describe } from '../validate';
import type { VoiceLine } from './voice-line';

/** What `get-settings` reports: the line's policies, and the module's audio where it can tell. */
export interface ControlSettings {
  /** Seconds before an incoming call is answered (0: off). */
  autoAnswer: number;
  autoReject: boolean;
  /** 0–11; absent when the line cannot tell (module without the command, line not ready). */
  volume?: number;
  muted?: boolean;
  /** `null`: the module is in an audio mode outside handset / headset / speaker. */
  channel?: AudioChannel | null;
  /** Whether the keys the far end presses are detected (`set-dtmf-detection`); absent when the line cannot detect DTMF. */
  dtmfDetection?: boolean;
}

/**
 * The line's call and audio control: hold, resume, swap, mute, volume, audio channel, auto-answer and
 * auto-reject at run time. Validates what a flow gives (nothing invalid reaches the backend), resolves
 * the call, and calls the backend's `control` capability (`line.capability('control', ...)`), which
 * refuses what the module lacks with a NotSupportedError naming it.
 */
export class LineControl {
  constructor(readonly line: VoiceLine) {}

  /** Puts a connected call on hold (`ref`: a call id or snapshot; none: the line's only active call). */
  async hold(ref?: unknown): Promise<Call> {
    const call = this.line.resolveCall(ref, 'hold', (c) => c.state === CallState.Active);
    await this.capability('putting a call on hold').hold(call);
    return call;
  }

  /** Takes a held call back (`ref`: none means the line's only held call). */
  async resume(ref?: unknown): Promise<Call> {
    const call = this.line.resolveCall(ref, 'resume', (c) => c.state === CallState.Held);
    await this.capability('resuming a held call').resume(call);
    return call;
  }

  /** Holds the active call and makes the held (or waiting) one active. */
  swap(): Promise<{ active: Call; held: Call }> {
    return this.capability('swapping calls').swap();
  }

  /** Mutes (`true`) or unmutes the microphone; the line keeps it muted across a module restart. */
  async setMute(on: unknown): Promise<boolean> {
    if (typeof on !== 'boolean') throw new InvalidInputError(`mute must be true or false, got ${describe(on)}`);
    await this.capability('muting the microphone').setMute(on);
    return on;
  }

  /**
   * Mutes (`true`) or unmutes one call's uplink (`ref`: a call id or snapshot; none: the line's only
   * call), leaving the line's mute and the other calls alone. A line that can only mute its module's
   * microphone (AT) says so with a NotSupportedError.
   */
  async setCallMute(ref: unknown, on: unknown): Promise<Call> {
    if (typeof on !== 'boolean') throw new InvalidInputError(`mute must be true or false, got ${describe(on)}`);
    const call = this.line.resolveCall(ref, on ? 'mute' : 'unmute', () => true);
    const cap = this.capability('muting one call');
    if (!cap.setCallMute) {
      throw new NotSupportedError(`muting one call is not supported on this line (${this.line.backend?.description ?? this.line.config.backend}): mute (the microphone) mutes every call`);
    }
    await cap.setCallMute(call, on);
    return call;
  }

  /**
   * The media figures of a call in progress (`ref`: none means the line's only call): packets,
   * loss, jitter, codec (lib/call/media-stats.ts). NotSupportedError on a line whose audio does not
   * pass through this host (AT).
   */
  stats(ref?: unknown): { call: Call; stats: CallMediaStats } {
    const call = this.line.resolveCall(ref, 'read the media statistics of', () => true);
    const cap = this.capability('reading media statistics');
    if (!cap.callStats) {
      throw new NotSupportedError(`media statistics are not available on this line (${this.line.backend?.description ?? this.line.config.backend}): the call's audio does not pass through this host`);
    }
    return { call, stats: cap.callStats(call) };
  }

  /** Sets the volume, 0 (quietest) to 11 (loudest), scaled onto the module's own range. */
  async setVolume(level: unknown): Promise<number> {
    const n = checkVolume(level);
    await this.capability('setting the volume').setVolume(n);
    return n;
  }

  getVolume(): Promise<number> {
    return this.capability('reading the volume').getVolume();
  }

  /** Routes the call audio to the handset, headset or speaker. */
  async setChannel(channel: unknown): Promise<AudioChannel> {
    const c = checkChannel(channel);
    await this.capability('choosing the audio channel').setChannel(c);
    return c;
  }

  /** Refuses new incoming calls while the calls in progress finish (docs/scale-out.md); `false` takes calls again. */
  setDraining(on: boolean): boolean {
    this.line.setDraining(on);
    return this.line.draining;
  }

  /** Seconds before an incoming call is answered by itself, 0 = off (calls that arrive afterwards). */
  setAutoAnswer(seconds: unknown): number {
    this.line.setAutoAnswer(seconds);
    return this.line.autoAnswer;
  }

  /** Rejects every incoming call (`true`) or stops doing so; `"true"` / `"false"` (an editor field) too. */
  setAutoReject(on: unknown): boolean {
    this.line.setAutoReject(on === 'true' ? true : on === 'false' ? false : on);
    return this.line.autoReject;
  }

  /**
   * The policies, and the module's volume, mute and channel where it can tell: a reading the line
   * cannot make (not ready, the module lacks the command) is left out; a module that fails to answer
   * is an error.
   */
  async settings(): Promise<ControlSettings> {
    const out: ControlSettings = { autoAnswer: this.line.autoAnswer, autoReject: this.line.autoReject };
    const detection = unlessNotReady(() => this.line.capability('dtmf', 'detecting DTMF').detection);
    if (detection !== undefined && detection !== null) out.dtmfDetection = detection;
    let cap: ControlCapability;
    try {
      cap = this.capability('reading the audio settings');
    } catch (err) {
      if (err instanceof NotSupportedError || err instanceof LineNotReadyError) return out;
      throw err;
    }
    const volume = await unlessUnsupported(() => cap.getVolume());
    if (volume !== undefined) out.volume = volume;
    const muted = await unlessUnsupported(() => cap.getMute());
    if (muted !== undefined) out.muted = muted;
    const channel = await unlessUnsupported(() => cap.getChannel());
    if (channel !== undefined) out.channel = channel;
    return out;
  }

  private capability(what: string): ControlCapability {
    return this.line.capability('control', what);
  }
}

function unlessNotReady<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof NotSupportedError || err instanceof LineNotReadyError) return undefined;
    throw err;
  }
}

async function unlessUnsupported<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof NotSupportedError) return undefined;
    throw err;
  }
}

/** A whole number 0–11; a numeric string ("7", from an inject or a dashboard) is accepted. */
export function checkVolume(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_VOLUME) {
    throw new InvalidInputError(`the volume must be a whole number from 0 to ${MAX_VOLUME}, got ${describe(value)}`);
  }
  return n;
}

export function checkChannel(value: unknown): AudioChannel {
  if (!(AUDIO_CHANNELS as readonly unknown[]).includes(value)) {
    throw new InvalidInputError(`the audio channel must be one of ${AUDIO_CHANNELS.join(', ')}, got ${describe(value)}`);
  }
  return value as AudioChannel;
}
