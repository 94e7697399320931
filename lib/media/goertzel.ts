/** The Goertzel coefficient of one frequency: 2·cos(2π·hz / rate). */
export function goertzelCoefficient(hz: number, sampleRate = 8000): number {
  return 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
}

/**
 * The power of one frequency bin over a block (a single Goertzel filter, not normalised: a pure
 * tone of amplitude A there gives about (A·N/2)²). `coef` from {@link goertzelCoefficient}.
 */
export function goertzelPower(samples: ArrayLike<number>, coef: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i] + coef * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coef * s1 * s2;
}
