import { EventEmitter } from 'node:events';
import { Call } from '../call/call';

export type AudioDirection = 'rx' | 'tx' | 'mix' | 'stereo';

export interface RecordingOptions {
  /** Where the recording ends up on this machine (a WAV or AMR file); absent = stream only. */
  file?: string;
  /** `wav` or `amr` (AMR only where the module records by itself). */
  format: 'wav' | 'amr';
  direction: AudioDirection;
  /** Stream the audio as chunks of this many ms (20–1000); absent = no stream. */
  streamChunkMs?: number;
  /** On a module that records to its own flash: delete the file there after download. */
  deleteOnModule?: boolean;
}

export interface RecordingResult {
  path?: string;
  bytes: number;
  durationMs: number;
  format: string;
  direction: AudioDirection;
}

/**
 * A recording in progress. Events: `chunk` ({ payload: Buffer, audio: {...} } per design §3),
 * `finished` (RecordingResult), `error` (Error: reported, never thrown from a timer).
 */
export interface Recording extends EventEmitter {
  stop(): Promise<RecordingResult>;
}

export interface PlaySource {
  /** 8 kHz mono 16-bit PCM, already decoded. */
  pcm: Int16Array;
  /** Stop when a DTMF digit arrives (barge-in). */
  bargeIn?: boolean;
}

/** Playback in progress. Events: `finished` ({ interrupted: boolean, digit? }). */
export interface Playback extends EventEmitter {
  stop(): Promise<void>;
}

/** Call audio: recording, streaming and playback. */
export interface AudioCapability {
  record(call: Call, options: RecordingOptions): Promise<Recording>;
  play(call: Call, source: PlaySource): Promise<Playback>;
}
