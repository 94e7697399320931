/**
 * How a WAV recording's flushes reach its file (lib/media/wav-writer.ts): each flush is its samples
 * at their place, then (once they are written whole) the header that now covers them, at offset 0.
 *
 * Through native/file-io.c (a Node-API addon) the flushes asked for in one turn of the event loop
 * (a media tick: every recording due) are one libuv thread-pool request: one pool thread writes
 * them all with `pwrite`, then one callback. With `fs.write` each flush was two requests, each a wake-up
 * of a pool thread and of the calling thread and a callback; at 500 recordings ~20 µs each on the
 * media thread, 13 % of it (docs/benchmarks.md, "Where a media worker's time goes, session 9").
 * Where the addon was not built, or `VOICE_FILE_IO=fs` is set, the same through `fs.write`.
 */
import { write as fsWrite } from 'node:fs';
import { loadNativeAddon, nativeAddonPath } from '../native-addon';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';

export interface FileWrites {
  /**
   * Writes all of `data` at `position` of the open file `fd`, then, when it was written whole,
   * `header` (if any) at offset 0. Rejects with the first failure (an fs-style error: `code`,
   * `errno`, `syscall`). `data` and `header` must not change until it settles.
   */
  write(fd: number, data: Uint8Array, position: number, header: Uint8Array | null): Promise<void>;
}

interface Addon {
  write(fds: Int32Array, positions: Float64Array, data: Uint8Array[], headers: (Uint8Array | null)[], results: Int32Array, done: () => void): void;
}

export const NATIVE_FILE_IO_PATH = nativeAddonPath('file_io.node');

interface Pending {
  fd: number;
  position: number;
  data: Uint8Array;
  header: Uint8Array | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The flushes of one turn of the event loop, written by the addon in one thread-pool request. */
export class NativeFileWrites implements FileWrites {
  private queued: Pending[] = [];

  constructor(private readonly addon: Addon) {}

  write(fd: number, data: Uint8Array, position: number, header: Uint8Array | null): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(this.submit);
      this.queued.push({ fd, position, data, header, resolve, reject });
    });
  }

  private readonly submit = (): void => {
    const batch = this.queued;
    this.queued = [];
    const n = batch.length;
    const fds = new Int32Array(n);
    const positions = new Float64Array(n);
    const results = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      fds[i] = batch[i].fd;
      positions[i] = batch[i].position;
    }
    const done = (): void => {
      for (let i = 0; i < n; i++) {
        if (results[i] === 0) batch[i].resolve();
        else batch[i].reject(systemError(results[i]));
      }
    };
    try {
      this.addon.write(fds, positions, batch.map((p) => p.data), batch.map((p) => p.header), results, done);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  };
}

/** The same through `fs.write` (two thread-pool requests a flush). */
export class FsFileWrites implements FileWrites {
  async write(fd: number, data: Uint8Array, position: number, header: Uint8Array | null): Promise<void> {
    await writeAll(fd, data, position);
    if (header) await writeAll(fd, header, 0);
  }
}

function writeAll(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (from: number): void => {
      fsWrite(fd, data, from, data.length - from, position + from, (err, n) => {
        if (err) reject(err);
        else if (from + n < data.length && n > 0) next(from + n);
        else resolve();
      });
    };
    next(0);
  });
}

/** An error as `fs` makes them (`ENOSPC: no space left on device, write`). */
function systemError(errno: number): Error {
  const code = getSystemErrorName(errno);
  const description = getSystemErrorMap().get(errno)?.[1] ?? 'unknown error';
  return Object.assign(new Error(`${code}: ${description}, write`), { errno, code, syscall: 'write' });
}

/** The addon, or why not. */
export function loadNativeFileWrites(): { writes: NativeFileWrites; reason: null } | { writes: null; reason: string } {
  const loaded = loadNativeAddon<Addon>('file_io.node', 'the native file writes addon', { variable: 'VOICE_FILE_IO', value: 'fs' });
  return loaded.addon ? { writes: new NativeFileWrites(loaded.addon), reason: null } : { writes: null, reason: loaded.reason };
}

let threadWrites: FileWrites | null = null;

/** This thread's way of writing flushes: the addon's when it loads, else `fs.write`'s. Chosen once per thread. */
export function fileWrites(): FileWrites {
  threadWrites ??= loadNativeFileWrites().writes ?? new FsFileWrites();
  return threadWrites;
}
