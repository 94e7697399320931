/**
 * Recording a conference room's mix (docs/conference.md, "Recording a room"): the whole room, every
 * party and the room-wide audio summed, one frame per tick, written as a 16-bit 8 kHz mono WAV file
 * in the thread that mixes the room (the main thread or the room's host worker), from the first join
 * to the room's end.
 *
 * A room that moves to another worker goes on in the same file: the new host's recorder keeps its
 * frames in memory until the old host has closed the file (`ready`), then appends them and the rest
 * (lib/media/wav-writer.ts `WavWriter.append`). A host that died leaves what it had written (at most
 * one flush, 500 ms, is lost with it); the new host appends after what is on disk.
 */
import { promises as fsp } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { WAV_HEADER_SIZE } from '../media/wav-header';
import { WavWriter } from '../media/wav-writer';

/** What a room recording gives in `room-end`'s payload. */
export interface RoomRecording {
  path: string;
  durationMs: number;
}

/** Frames kept in memory at most while the file is not ready (10 s; the wait is one message round trip). */
const MAX_WAITING_FRAMES = 500;
/** The longest gap of ticks filled with silence (60 s): a clock that skipped ticks after a stall. */
const MAX_GAP_FRAMES = 3000;

export class RoomRecorder {
  private writer: WavWriter | null = null;
  private waiting: Int16Array[] = [];
  private readonly opening: Promise<void>;
  private failure: Error | null = null;
  private lastTick = -1;

  /**
   * `append`: go on after what the file holds (a moved room); `ready`: resolves when the file may be
   * opened (the previous host closed it).
   */
  constructor(
    readonly path: string,
    append: boolean,
    ready: Promise<unknown> = Promise.resolve(),
  ) {
    this.opening = ready
      .then(() => (append ? WavWriter.append(path) : WavWriter.open(path)))
      .then(
        (w) => {
          this.writer = w;
          for (const f of this.waiting) w.write(f);
          this.waiting = [];
        },
        (err: Error) => {
          this.failure = err;
          this.waiting = [];
        },
      );
  }

  /**
   * One tick of the room's mix (copied when the file is not open yet). `tick`: the media clock's
   * number; ticks the clock skipped after a stall (lib/media/media-clock.ts) are written as silence,
   * so the file keeps the room's time from its first join to its end.
   */
  write(frame: Int16Array, tick?: number): void {
    if (tick !== undefined) {
      const gap = this.lastTick >= 0 && tick > this.lastTick + 1 ? Math.min(MAX_GAP_FRAMES, tick - this.lastTick - 1) : 0;
      this.lastTick = tick;
      if (gap > 0) this.write(new Int16Array(gap * frame.length));
    }
    if (this.writer) this.writer.write(frame);
    else if (!this.failure) {
      this.waiting.push(frame.slice());
      if (this.waiting.length > MAX_WAITING_FRAMES) this.waiting.shift();
    }
  }

  /** Writes the rest and closes the file: the file and its whole length (every host's part). */
  async close(): Promise<RoomRecording> {
    await this.opening;
    if (this.failure || !this.writer) throw this.failure ?? new Error('the recording did not start');
    const r = await this.writer.close();
    return { path: r.path, durationMs: r.durationMs };
  }
}

/** What a worker's recorder posts back when the room closes there. */
export type RecorderReply = { ok: true; recording: RoomRecording } | { ok: false; error: string };

/**
 * The worker side of a recording: the recorder of a room hosted here, `port` leading to the main
 * thread. `append` recorders wait for the main thread's `'go'` on the port before opening the file.
 */
export function workerRecorder(path: string, append: boolean, port: MessagePort): RoomRecorder {
  const ready = append ? new Promise<void>((resolve) => port.once('message', () => resolve())) : Promise.resolve();
  return new RoomRecorder(path, append, ready);
}

/** Closes a worker's recorder and posts what it gives (or why it failed) to the main thread. */
export function finishWorkerRecorder(recorder: RoomRecorder, port: MessagePort): void {
  recorder.close().then(
    (recording) => port.postMessage({ ok: true, recording } satisfies RecorderReply),
    (err: Error) => port.postMessage({ ok: false, error: err.message } satisfies RecorderReply),
  ).finally(() => port.close());
}

/**
 * The main thread's end of a worker's recording: resolves with the reply when the host closed the
 * room, or, if the host worker died first (the port closes without a reply), with the length of
 * what is on disk.
 */
export function recordingReply(path: string, port: MessagePort): Promise<RecorderReply> {
  return new Promise((resolve) => {
    let done = false;
    port.once('message', (reply: RecorderReply) => {
      done = true;
      resolve(reply);
      port.close();
    });
    port.once('close', () => {
      if (done) return;
      void onDisk(path).then(resolve);
    });
  });
}

async function onDisk(path: string): Promise<RecorderReply> {
  try {
    const size = (await fsp.stat(path)).size;
    return { ok: true, recording: { path, durationMs: Math.round((Math.max(0, size - WAV_HEADER_SIZE) / 16000) * 1000) } };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
