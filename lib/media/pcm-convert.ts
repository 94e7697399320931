/**
 * Sample-level conversions on 16-bit PCM: mixing, (de)interleaving, and 16 kHz → 8 kHz.
 * Results are new arrays (mixing and interleaving can fill one the caller keeps instead: a recording
 * does so 50 times a second per call); sums saturate at the 16-bit limits instead of wrapping.
 */

/** Adds two signals sample by sample (the shorter is padded with silence), saturating. */
export function mixMono(a: Int16Array, b: Int16Array, out: Int16Array = new Int16Array(Math.max(a.length, b.length))): Int16Array {
  const n = out.length;
  if (n !== Math.max(a.length, b.length)) throw new RangeError('mixMono: "out" must be as long as the longer input');
  if (a.length === n && b.length === n) {
    // Every tick of a recording of both legs (two 160-sample frames): no padding to look for.
    for (let i = 0; i < n; i++) out[i] = clamp16(a[i] + b[i]);
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = clamp16((a[i] ?? 0) + (b[i] ?? 0));
  return out;
}

/** Two mono signals to one interleaved stereo signal (left, right, ...); the shorter is padded. */
export function interleave(left: Int16Array, right: Int16Array, out: Int16Array = new Int16Array(2 * Math.max(left.length, right.length))): Int16Array {
  const frames = Math.max(left.length, right.length);
  if (out.length !== frames * 2) throw new RangeError('interleave: "out" must hold both inputs\' frames');
  for (let i = 0; i < frames; i++) {
    out[2 * i] = left[i] ?? 0;
    out[2 * i + 1] = right[i] ?? 0;
  }
  return out;
}

/** Interleaved stereo to mono: the mean of both channels (an odd last sample is dropped). */
export function stereoToMono(interleaved: Int16Array): Int16Array {
  const out = new Int16Array(interleaved.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (interleaved[2 * i] + interleaved[2 * i + 1]) >> 1;
  return out;
}

/**
 * The low-pass filter run before dropping every other sample: a 47-tap windowed sinc (Hamming),
 * cut-off 3.6 kHz at 16 kHz. Flat within ~0.1 dB to 3 kHz (the telephone band ends at 3.4 kHz),
 * about 50 dB down from 4.3 kHz, so what would fold back into the 8 kHz band is gone.
 */
const DECIMATION_TAPS = lowPassTaps(47, 3600 / 16000);

/** 16 kHz audio to 8 kHz: low-pass, then every other sample. */
export function decimate16kTo8k(samples: Int16Array): Int16Array {
  const taps = DECIMATION_TAPS;
  const half = (taps.length - 1) >> 1;
  const out = new Int16Array(samples.length >> 1);
  for (let o = 0; o < out.length; o++) {
    const centre = 2 * o;
    let acc = 0;
    for (let k = 0; k < taps.length; k++) {
      const i = centre + k - half;
      if (i >= 0 && i < samples.length) acc += taps[k] * samples[i];
    }
    out[o] = clamp16(Math.round(acc));
  }
  return out;
}

/**
 * {@link decimate16kTo8k} for audio that comes in pieces (a file read block by block): the same filter
 * and the same output as over the whole signal at once, keeping the last few input samples between
 * pieces. `push` gives what each piece completes; `end` the rest (the filter's tail, padded with silence).
 */
export class Decimator16kTo8k {
  /** Input not yet fully used: it starts at input sample `base`. */
  private held = new Int16Array(0);
  private base = 0;
  /** Input samples pushed so far. */
  private total = 0;
  /** Output samples given so far. */
  private produced = 0;

  push(samples: Int16Array): Int16Array {
    const joined = new Int16Array(this.held.length + samples.length);
    joined.set(this.held);
    joined.set(samples, this.held.length);
    this.held = joined;
    this.total += samples.length;
    const half = (DECIMATION_TAPS.length - 1) >> 1;
    // Output o needs input up to 2o + half: compute the outputs whose input is all here.
    return this.run(Math.min(this.total >> 1, Math.max(0, Math.floor((this.total - 1 - half) / 2) + 1)));
  }

  end(): Int16Array {
    return this.run(this.total >> 1);
  }

  private run(until: number): Int16Array {
    const taps = DECIMATION_TAPS;
    const half = (taps.length - 1) >> 1;
    const out = new Int16Array(Math.max(0, until - this.produced));
    for (let j = 0; j < out.length; j++) {
      const centre = 2 * (this.produced + j);
      let acc = 0;
      for (let k = 0; k < taps.length; k++) {
        const i = centre + k - half;
        if (i >= 0 && i < this.total) acc += taps[k] * this.held[i - this.base];
      }
      out[j] = clamp16(Math.round(acc));
    }
    this.produced += out.length;
    // Keep the input the next output still needs (from 2 * produced - half on).
    const keepFrom = Math.max(this.base, 2 * this.produced - half);
    this.held = this.held.slice(keepFrom - this.base);
    this.base = keepFrom;
    return out;
  }
}

/** Windowed-sinc low-pass taps (Hamming), unity gain at DC; `cutoff` in cycles per sample. */
function lowPassTaps(count: number, cutoff: number): Float64Array {
  const taps = new Float64Array(count);
  const m = count - 1;
  let sum = 0;
  for (let n = 0; n < count; n++) {
    const x = n - m / 2;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    taps[n] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * n) / m));
    sum += taps[n];
  }
  for (let n = 0; n < count; n++) taps[n] /= sum;
  return taps;
}

/** Rounds into the 16-bit range. */
export function clamp16(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}
