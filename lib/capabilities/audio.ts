import { EventEmitter } from 'node:events';
import { Call } from '../call/call';
import type { AudioDirection } from '../media/audio-chunker';
import type { PcmSource } from '../media/pcm-source';

/**
 * Which audio of a call: what we receive (`rx`, the remote party, the downlink), what we send (`tx`,
 * the uplink), or `both` mixed into one channel (Quectel's MIX). The words of `msg.audio.direction`
 * (lib/media/audio-chunker.ts), whose chunk shape the stream uses too.
 */
export type { AudioChunk, AudioChunkInfo, AudioDirection } from '../media/audio-chunker';
export const AUDIO_DIRECTIONS: readonly AudioDirection[] = ['rx', 'tx', 'both'];

/** A recording file's format: 16-bit PCM WAV at 8 kHz mono, or AMR-NB (where the module encodes it). */
export type RecordingFormat = 'wav' | 'amr';
export const RECORDING_FORMATS: readonly RecordingFormat[] = ['wav', 'amr'];

/** Mono, or one leg per channel (stereo). */
export type RecordingChannels = 1 | 2;


/** What to record. Already validated by the line (lib/line/line-audio.ts). */
export interface RecordingOptions {
  /** Record to a file that ends up at this path on this machine. Absent: no file (stream only). */
  file?: string;
  /** The file's format. */
  format: RecordingFormat;
  direction: AudioDirection;
  /**
   * 2: one leg per channel, left `rx` (the remote party), right `tx` (what we send), interleaved,
   * in the file and in the stream; only with direction `both` (lib/line/line-audio.ts takes the
   * word `stereo` for it). Absent or 1: mono.
   */
  channels?: RecordingChannels;
  /** Stream the audio as chunks of this many ms (20–1000, lib/media MIN_CHUNK_MS..MAX_CHUNK_MS). Absent: no stream. */
  streamChunkMs?: number;
  /** Where the module records into its own flash: delete the file there once it is downloaded. */
  deleteOnModule?: boolean;
}

export interface RecordingResult {
  /** The local file, when the recording had one. */
  path?: string;
  /** Its size in bytes (0 without a file). */
  bytes: number;
  /** The audio's length: from the file when there is one, else what was streamed. */
  durationMs: number;
  format: RecordingFormat;
  direction: AudioDirection;
  /** 1, or 2 for one leg per channel (left rx, right tx). */
  channels: RecordingChannels;
  /** Stream chunks sent (0 without a stream). */
  chunks: number;
  /** Where the recording was made, when not on this machine: the module's file name. */
  moduleFile?: string;
  /** Why it ended: the flow stopped it, or the call ended. */
  endedBy: 'stop' | 'call-ended';
}

/**
 * A recording in progress.
 *
 * Events: `chunk` (AudioChunk, stream recordings only, in order), then exactly one of `end`
 * (RecordingResult) or `error` (Error: the recording failed; a file that was downloaded in part is
 * not left behind). An implementation MUST end a recording when its call ends, MUST NOT emit
 * anything after `end` / `error`, and MUST NOT throw from a timer or a port's handler.
 */
export interface Recording extends EventEmitter {
  readonly call: Call;
  readonly options: Readonly<RecordingOptions>;
  /**
   * Stops it (when the call has not ended it already) and resolves with the result once the file is
   * where it should be; rejects with the recording's error. Calling it again gives the same outcome.
   */
  stop(): Promise<RecordingResult>;
}

export interface PlaybackResult {
  /** The audio played, in ms. */
  playedMs: number;
  /** False when the whole source was played; true when stop() (or the call's end) cut it short. */
  stopped: boolean;
}

/**
 * Audio being played into a call. Events: exactly one `end` (PlaybackResult) or `error` (Error).
 * An implementation MUST pace the audio in real time, MUST end the playback when the call ends,
 * and MUST NOT emit anything afterwards.
 */
export interface Playback extends EventEmitter {
  readonly call: Call;
  /** Stops it (nothing more is sent) and resolves with the result; again: the same result. */
  stop(): Promise<PlaybackResult>;
}

/**
 * Call audio: recording (to a file and/or as a stream of chunks) and playback into a call.
 *
 * A backend:
 * - MUST throw NotSupportedError, naming the module, for what the line cannot do (a format, a
 *   direction, streaming, playback), before anything is sent to the network.
 * - MUST refuse (CallStateError) a call that is not connected.
 * - MUST deliver stream chunks as 16-bit little-endian PCM at 8 kHz, mono (or interleaved left rx,
 *   right tx with `channels: 2`), with no file header, each `streamChunkMs` long (the last one may be
 *   shorter), `seq` counting from 0.
 * - MUST refuse `channels: 2` (NotSupportedError naming the module) where it cannot keep the legs
 *   apart; a recording that keeps both legs MUST keep them aligned for the whole call.
 */
export interface AudioCapability {
  record(call: Call, options: RecordingOptions): Promise<Recording>;
  /**
   * Plays 8 kHz mono 16-bit samples into the call (what the remote party hears), taking them from
   * `audio` as they are due (a file source is read as it plays). The caller owns `audio` and closes it.
   */
  play(call: Call, audio: PcmSource): Promise<Playback>;
}
