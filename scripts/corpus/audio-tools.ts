/**
 * Speech and sounds for the test corpus, from Debian's espeak-ng (speech synthesis) and sox (resampling,
 * synthesised music), as 8 kHz 16-bit mono PCM. Both are run as programs (no npm package
 * synthesises speech offline); `requireAudioTools` skips tests when they are missing (fails on CI).
 */
import { spawnSync } from 'node:child_process';
import { concat } from '../../lib/media/tone-generator';

export const AUDIO_TOOLS = { 'espeak-ng': 'espeak-ng', sox: 'sox' } as const;

/** The programs that are missing (an empty list when both run). */
export function missingAudioTools(): string[] {
  return Object.keys(AUDIO_TOOLS).filter((p) => spawnSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' }).status !== 0);
}

/**
 * For a mocha `before` hook: skips the tests (saying why) when espeak-ng or sox is missing; on CI
 * (`CI=true`) that is a failure.
 */
export function requireAudioTools(ctx: Mocha.Context): void {
  const missing = missingAudioTools();
  if (missing.length === 0) return;
  const install = `apt-get install ${missing.join(' ')}`;
  if (process.env.CI === 'true') throw new Error(`${missing.join(', ')} required on CI (${install}) but not found`);
  // eslint-disable-next-line no-console
  console.warn(`      skipped: ${missing.join(', ')} not installed (${install})`);
  ctx.skip();
}

function run(program: string, args: string[], input?: Buffer): Buffer {
  const r = spawnSync(program, args, { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${program} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** sox arguments that write 8 kHz 16-bit mono little-endian raw PCM to stdout. */
const TO_PCM8K = ['-t', 'raw', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'];

function rawToInt16(raw: Buffer): Int16Array {
  const out = new Int16Array(raw.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = raw.readInt16LE(2 * i);
  return out;
}

export interface SpeakOptions {
  /** espeak-ng voice, e.g. `en`, `en-us`, `en+f3`, `de`, `fr` (default `en`). */
  voice?: string;
  /** Words per minute (default 160). */
  wpm?: number;
  /** Pitch 0–99 (default 50). */
  pitch?: number;
}

/** `text` spoken by espeak-ng, resampled by sox to 8 kHz (telephone band: 300–3400 Hz). */
export function speak(text: string, options: SpeakOptions = {}): Int16Array {
  const wav = run('espeak-ng', ['-v', options.voice ?? 'en', '-s', String(options.wpm ?? 160), '-p', String(options.pitch ?? 50), '--stdout', text]);
  return rawToInt16(run('sox', ['-R', '-t', 'wav', '-', ...TO_PCM8K, 'sinc', '300-3400'], wav));
}

/**
 * `durationMs` of synthesised "music" made by sox: a chord of plucked notes changing every
 * `noteMs`, the notes picked by `pick` (a seeded generator's next value in [0, 1)).
 */
export function music(durationMs: number, pick: () => number, noteMs = 250): Int16Array {
  const notes = Math.max(1, Math.round(durationMs / noteMs));
  const scale = [261.6, 293.7, 329.6, 349.2, 392, 440, 493.9, 523.3, 587.3, 659.3];
  const parts: Int16Array[] = [];
  for (let i = 0; i < notes; i++) {
    const chord = [0, 1, 2].map(() => scale[Math.floor(pick() * scale.length)]);
    const args = ['-R', '-n', ...TO_PCM8K, 'synth', (noteMs / 1000).toFixed(3), ...chord.flatMap((hz) => ['pluck', String(hz)])];
    // Three generators on one channel: sox needs them remixed to one.
    parts.push(rawToInt16(run('sox', [...args, 'remix', '-', 'vol', '0.3'])));
  }
  return concat(parts);
}

/**
 * `samples` of sox's white, pink or brown noise in the telephone band (300–3400 Hz, as the speech:
 * the noise of the far end's room or line as the caller hears it) at `rmsDbfs`, starting at a point
 * within its first 5 s picked by `pick` (sox `-R` always makes the same noise).
 */
export function noise(kind: 'white' | 'pink' | 'brown', samples: number, rmsDbfs: number, pick: () => number): Int16Array {
  const skip = Math.floor(pick() * 5 * 8000);
  const seconds = ((samples + skip) / 8000 + 0.1).toFixed(3);
  const raw = rawToInt16(run('sox', ['-R', '-n', ...TO_PCM8K, 'synth', seconds, `${kind}noise`, 'vol', '0.5', 'sinc', '300-3400'])).subarray(skip, skip + samples);
  let e = 0;
  for (const x of raw) e += x * x;
  const g = (32767 * 10 ** (rmsDbfs / 20)) / Math.sqrt(e / Math.max(1, raw.length) || 1);
  return Int16Array.from(raw, (x) => Math.max(-32768, Math.min(32767, Math.round(x * g))));
}
