/** PcmSources for tests: one whose reader lags behind on purpose, and a way to take all of one. */
import type { PcmSource } from '../../lib/media/pcm-source';

/** A source over `pcm` that hands out only what `ready(n)` made available (a reader that is behind). */
export function laggingSource(pcm: Int16Array, available = 0): { source: PcmSource; ready(n: number): void } {
  let position = 0;
  const source: PcmSource = {
    length: pcm.length,
    error: null,
    get position() {
      return position;
    },
    take(max: number): Int16Array {
      const out = pcm.subarray(position, Math.min(position + max, available));
      position += out.length;
      return out;
    },
    close(): void {},
  };
  return { source, ready: (n) => void (available = n) };
}

/** Everything a source gives, `step` samples a take, waiting for its reader when it is behind; closes it. */
export async function drain(source: PcmSource, step = 160): Promise<Int16Array> {
  const out = new Int16Array(source.length);
  while (source.position < source.length) {
    const at = source.position;
    const got = source.take(step);
    out.set(got, at);
    if (got.length === 0) await new Promise((r) => setTimeout(r, 1));
  }
  source.close();
  return out.subarray(0, source.length);
}
