import type { EventEmitter } from 'node:events';

/**
 * Runs a recording's or a playback's ending `work` once and reports its outcome as exactly one `end`
 * (the result) or `error` event (the AudioCapability contract, lib/capabilities/audio.ts), for both
 * backends. An `error` nobody listens to is not thrown: it is the rejection of `stop()`, which
 * returns the promise given back here.
 */
export function settle<T>(emitter: EventEmitter, work: Promise<T>): Promise<T> {
  work.then(
    (result) => emitter.emit('end', result),
    (err: Error) => {
      if (emitter.listenerCount('error') > 0) emitter.emit('error', err);
    },
  );
  return work;
}
