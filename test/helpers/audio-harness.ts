/**
 * Shared fixtures of the call audio tests: a line on the emulator with one connected call, the
 * emulator's audio feature, and the audio commands the module received.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from '../../lib/call/call';
import type { Recording, RecordingResult } from '../../lib/capabilities/audio';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import type { AtAudio } from '../../lib/at/features/audio';
import { Harness, startLine } from './at-harness';

export interface AudioHarness extends Harness {
  call: Call;
  audio(): EmulatorAudio;
  /** The backend's audio feature. */
  atAudio: AtAudio;
  /** The audio and file commands the module received (AT+QAUDRD, AT+QF..., AT+QPCMV), in order. */
  audioCommands(): string[];
  /** A fresh folder for local recordings, removed by close(). */
  dir: string;
}

export const AUDIO_COMMAND = /^AT\+(QAUDRD|QF[A-Z]+|QPCMV)/;

/** A line on `profile` with one answered incoming call from 5550100. */
export async function startCall(profile: string, opts: { modem?: string } = {}): Promise<AudioHarness> {
  const h = await startLine(profile, opts);
  const incoming = h.next('incoming');
  h.modem().incomingCall('5550100');
  await incoming;
  const answered = h.next('answered');
  const call = await h.line.answer();
  await answered;
  const dir = mkdtempSync(join(tmpdir(), 'voice-audio-'));
  return {
    ...h,
    call,
    dir,
    atAudio: h.backend.audio,
    audio: () => h.modem().feature<EmulatorAudio>('audio'),
    audioCommands: () => h.modem().commands.filter((c) => AUDIO_COMMAND.test(c)),
    close: async () => {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The samples of a 1 kHz sine at −10 dBFS, phase 0 (the emulator's far end), from sample `from`. */
export function expectedRx(n: number, from = 0): Int16Array {
  const a = 32767 * 10 ** (-10 / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(a * Math.sin((2 * Math.PI * 1000 * (from + i)) / 8000));
  return out;
}

/** Waits until `check` holds (polling every 10 ms), or fails after `ms`. */
export async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The result of a recording once it has ended (its `error` rejects). */
export function recordingResult(rec: Recording): Promise<RecordingResult> {
  return new Promise((resolve, reject) => {
    rec.once('end', resolve);
    rec.once('error', reject);
  });
}
