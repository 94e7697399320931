/**
 * Audio checks for the call audio tests: which frequency dominates a signal, how loud it is, WAV files
 * of a tone to play, and the channels of a recorded WAV.
 */
import { readFileSync } from 'node:fs';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { stereoToMono } from '../../lib/media/pcm-convert';
import { wavHeader } from '../../lib/media/wav-header';
import { parseWav, WavInfo } from '../../lib/media/wav-reader';
import { goertzelCoefficient, goertzelPower } from '../../lib/media/goertzel';

/** The power of `hz` in `samples` (Goertzel over the whole block). */
export function powerAt(samples: Int16Array, hz: number, sampleRate = 8000): number {
  return goertzelPower(samples, goertzelCoefficient(hz, sampleRate));
}

/** The frequency (on a `stepHz` grid from 100 Hz to 3600 Hz) with the most power in `samples`. */
export function dominantHz(samples: Int16Array, stepHz = 10, sampleRate = 8000): number {
  let best = 0;
  let bestPower = -1;
  for (let hz = 100; hz <= 3600; hz += stepHz) {
    const p = powerAt(samples, hz, sampleRate);
    if (p > bestPower) {
      bestPower = p;
      best = hz;
    }
  }
  return best;
}

/** Root mean square, in sample units. */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** The index of the first `frame`-sample block whose RMS is above `threshold`, in ms; -1 when none. */
export function onsetMs(samples: Int16Array, threshold = 1000, frame = 80, sampleRate = 8000): number {
  for (let at = 0; at + frame <= samples.length; at += frame) {
    if (rms(samples.subarray(at, at + frame)) > threshold) return (at * 1000) / sampleRate;
  }
  return -1;
}

/** How many ms of `samples` are louder than `threshold` (in 10 ms blocks). */
export function loudMs(samples: Int16Array, threshold = 1000, sampleRate = 8000): number {
  const frame = sampleRate / 100;
  let n = 0;
  for (let at = 0; at + frame <= samples.length; at += frame) if (rms(samples.subarray(at, at + frame)) > threshold) n++;
  return n * 10;
}

/** A 16-bit PCM WAV file's bytes: a sine of `hz` at −10 dBFS, `ms` long, mono. */
export function toneWav(hz: number, ms: number, sampleRate = 8000): Buffer {
  const n = Math.round((ms * sampleRate) / 1000);
  const amplitude = 32767 * 10 ** (-10 / 20);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate)), 2 * i);
  return Buffer.concat([wavHeader(sampleRate, 1, data.length), data]);
}

/** A recorded 16-bit PCM WAV: its header and its channels (left/right of a stereo file; mono of both). */
export function readChannels(path: string): { info: WavInfo; mono: Int16Array; left: Int16Array; right: Int16Array } {
  const buf = readFileSync(path);
  const info = parseWav(buf);
  const samples = pcm16leToInt16(buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes));
  if (info.channels === 1) return { info, mono: samples, left: samples, right: samples };
  const left = new Int16Array(samples.length / 2);
  const right = new Int16Array(samples.length / 2);
  for (let i = 0; i < left.length; i++) {
    left[i] = samples[2 * i];
    right[i] = samples[2 * i + 1];
  }
  return { info, mono: stereoToMono(samples), left, right };
}
