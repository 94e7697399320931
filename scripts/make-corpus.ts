/**
 * Generates the labelled call-analysis corpus (issue 13): what answers an outbound call, as the
 * caller receives it: people answering, answering machines (greetings, beeps, music), fax tones,
 * special information tones with their announcement, busy and congestion tones. Speech comes from
 * espeak-ng, music from sox, tones from lib/media's generator; every file then passes through G.711
 * (μ-law or A-law) at one of several levels and is written as 8 kHz 16-bit mono WAV. A fixed seed
 * picks voices, texts, lengths, beep frequencies, so the same seed gives the same corpus.
 *
 *   npm run build && node dist/scripts/make-corpus.js [--out corpus] [--seed 13] [--people 120] [--machines 120]
 *
 * The folder (default `corpus/`, git-ignored) gets the WAV files by class and `labels.json`:
 * { seed, files: { "<class>/<name>.wav": CorpusLabel } }. Nothing generated is committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../lib/seeded-random';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, int16ToPcm16le } from '../lib/media/g711';
import { clamp16, mixMono } from '../lib/media/pcm-convert';
import { beep, concat, silence, tones, whiteNoise } from '../lib/media/tone-generator';
import { wavHeader } from '../lib/media/wav-header';
import { music, noise, speak } from './corpus/audio-tools';

export const CORPUS_SAMPLE_RATE = 8000;

export type CorpusClass = 'human' | 'machine' | 'fax' | 'sit' | 'busy' | 'congestion';

/** A stretch of steady tone in a file: one frequency, or two sounding together (busy US: 480 + 620 Hz). */
export interface LabelledTone {
  hz: number[];
  startMs: number;
  endMs: number;
  /** What it is: `beep`, `CNG`, `CED`, `ANSam`, `SIT`, `busy`, `congestion`. */
  kind: string;
}

export interface CorpusLabel {
  class: CorpusClass;
  durationMs: number;
  /** Gain applied before G.711, dB (0: speech peaks near −3 dBFS, tones at their nominal levels). */
  levelDb: number;
  law: 'ulaw' | 'alaw';
  /** espeak-ng voice and pitch of the speech, if any. */
  voice?: string;
  text?: string;
  /** When speech starts and ends (the greeting, for machines; the announcement, for SIT). */
  speechStartMs?: number;
  speechEndMs?: number;
  /** Machines: the end of the voicemail beep (null: the greeting has no beep). */
  beepEndMs?: number | null;
  beepHz?: number | null;
  /** Machines: synthesised music before the greeting, ms. */
  musicMs?: number;
  /** Humans, some busy / congestion tones: background noise level (dBFS RMS), if any. */
  noiseDbfs?: number;
  /** Fax: `CNG`, `CED` or `ANSam`. SIT: the Telcordia code (`IC`, `VC`, `NC`, `NC-inter`, `RO`). */
  tone?: string;
  /** SIT: what a dial should end with. */
  outcome?: 'not-found' | 'unavailable';
  /** Busy and congestion: the numbering plan whose tone it is (`CEPT`, `North America`, `UK` …). */
  plan?: string;
  /** The steady tones in the file, where they are. */
  tones: LabelledTone[];
  /** People and machines: the half of the corpus the file belongs to (rules are tuned on `tuning` only). */
  split?: CorpusSplit;
  /** People and machines: the recipe (`hello`, `pause-then-sentence`, `greeting-beep`, `music-greeting-beep` …). */
  kind?: string;
  /** Background noise's colour (`white`, `pink`, `brown`) when `noiseDbfs` is set. */
  noiseKind?: string;
  /** Speech peak before the level's gain, dBFS. */
  peakDbfs?: number;
}

export type CorpusSplit = 'tuning' | 'held-out';

export interface CorpusOptions {
  out: string;
  seed?: number;
  /** How many people answering (default 120: 60 in each half). */
  people?: number;
  /** How many answering machines (default 120). */
  machines?: number;
}

export interface Corpus {
  seed: number;
  files: Record<string, CorpusLabel>;
}

const ms = (samples: number): number => Math.round((samples * 1000) / CORPUS_SAMPLE_RATE);

/** Builds a file from pieces, keeping track of where each labelled piece lands. */
class Track {
  readonly pieces: Int16Array[] = [];
  length = 0;
  add(pcm: Int16Array): { startMs: number; endMs: number } {
    const startMs = ms(this.length);
    this.pieces.push(pcm);
    this.length += pcm.length;
    return { startMs, endMs: ms(this.length) };
  }
  pcm(): Int16Array {
    return concat(this.pieces);
  }
}

/**
 * `pcm` without its leading and trailing near-silence (under −50 dBFS: what espeak-ng pads with),
 * scaled so that its peak is at `peakDbfs`, so that the labels say where the speech is.
 */
function toPeak(pcm: Int16Array, peakDbfs: number): Int16Array {
  let a = 0;
  let b = pcm.length;
  while (a < b && Math.abs(pcm[a]) < 104) a++;
  while (b > a && Math.abs(pcm[b - 1]) < 104) b--;
  pcm = pcm.subarray(a, b);
  const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
  const g = (32767 * 10 ** (peakDbfs / 20)) / peak;
  return Int16Array.from(pcm, (x) => clamp16(Math.round(x * g)));
}

/** ANSam (ITU-T V.8): 2100 Hz, amplitude-modulated 20 % by 15 Hz, phase reversed every 450 ms. */
export function ansam(durationMs: number, levelDbfs: number): Int16Array {
  const n = Math.round((durationMs * CORPUS_SAMPLE_RATE) / 1000);
  const a = 32767 * 10 ** (levelDbfs / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / CORPUS_SAMPLE_RATE;
    const reversals = Math.floor(t / 0.45);
    const phase = reversals % 2 === 0 ? 0 : Math.PI;
    out[i] = clamp16(Math.round(a * (1 + 0.2 * Math.sin(2 * Math.PI * 15 * t)) * Math.sin(2 * Math.PI * 2100 * t + phase)));
  }
  return out;
}

/** A cadence (`onOffMs`: on, off[, on, off …] ms, repeated) of `hz` for `totalMs`, the on-segments labelled as `kind`. */
function cadence(track: Track, hz: number[], levelDbfs: number, onOffMs: readonly number[], totalMs: number, kind: string): LabelledTone[] {
  const labelled: LabelledTone[] = [];
  let left = totalMs;
  for (let k = 0; left > 0; k += 2) {
    const on = Math.min(onOffMs[k % onOffMs.length], left);
    const at = track.add(tones(hz.map((h) => ({ hz: h, levelDbfs })), on));
    if (on >= 100) labelled.push({ hz, ...at, kind });
    left -= on;
    const off = Math.min(onOffMs[(k + 1) % onOffMs.length], left);
    if (off > 0) track.add(silence(off));
    left -= off;
  }
  return labelled;
}

/**
 * People and answering machines, the far-end classifier's corpus. Each file has its own random
 * stream (seed, class, index), so a file does not change when others are added, and a recipe
 * (`kind`) taken in turn by pairs: of each pair the first file goes to the `tuning` half, the second
 * to the `held-out` half, so both halves hold the same mix of recipes with different voices, texts,
 * pauses, levels and noise. Rules are tuned on the tuning half; the held-out half gives the figures.
 */
const PEOPLE: { kind: string; texts: readonly string[]; delayMs: [number, number] }[] = [
  { kind: 'hello', texts: ['Hello?', 'Yes, hello?', 'Hallo?', 'Hello.', 'Yeah?', 'Yes?'], delayMs: [200, 1000] },
  { kind: 'speaking', texts: ['Yes, speaking.', 'Speaking.', 'Hello, Mark speaking.', 'This is Anna.', 'Yes, this is she.', 'Hi, Tom here.'], delayMs: [200, 1000] },
  { kind: 'who', texts: ['Hello, who is this?', 'Hello? Who is calling?', 'Yes? Who is it?', 'Hi, who am I speaking to?'], delayMs: [200, 1000] },
  { kind: 'named-greeting', texts: ['Good morning, Smith residence.', 'Hi, this is Anna.', 'Westfield Dental, good afternoon.', 'Hello, Brooks family.'], delayMs: [200, 1000] },
  // A pause before speaking (a phone picked up from a pocket, a hands-free set), then a sentence.
  { kind: 'pause-then-sentence', texts: ['Sorry, hello? Who is calling, please?', 'Hello? I can hardly hear you.', 'Oh, hi. Yes, I was expecting your call.', 'Hello? Is anybody there?', 'Yes, hello, sorry, I was just driving.', 'Hello? Can you hear me?'], delayMs: [1500, 3000] },
  // "Hello?", nobody answers, "hello?" again.
  { kind: 'hello-twice', texts: ['Hello?', 'Hello.', 'Yes, hello?'], delayMs: [200, 1000] },
];
const HELLO_AGAIN = ['Hello?', 'Hello? Anyone there?', 'Hello? Who is this?', 'Hello-o?'];
const GREETING_PARTS = [
  'Hi, you have reached John and Mary.',
  'Hello, this is the voicemail of doctor Alan Brooks.',
  'Thank you for calling Westfield Dental Clinic.',
  'Hi, it is Sarah.',
  'We are not able to take your call right now.',
  'Our office hours are Monday to Friday, nine to five.',
  'If this is an emergency, please hang up and dial your local emergency number.',
  'Please leave your name, your number and a short message,',
  'and we will get back to you as soon as we can.',
  'You can also reach us by email at info at westfield dot com.',
  'Please speak after the tone.',
  'Thanks, and have a great day.',
  'The person you are calling is not available.',
  'Hey, it is Mike, leave a message.',
  'You have reached the office of Green and Partners.',
  'Sorry I missed your call.',
  'At the tone, please record your message.',
  'When you have finished recording, you may hang up.',
  'I am away from my desk at the moment.',
  'For sales, please call back during business hours.',
];
const MACHINES: { kind: string; greetingMs: [number, number]; beep: boolean; musicMs?: [number, number]; delayMs: [number, number] }[] = [
  { kind: 'greeting-beep', greetingMs: [5000, 20000], beep: true, delayMs: [100, 600] },
  { kind: 'greeting-no-beep', greetingMs: [3000, 20000], beep: false, delayMs: [100, 600] },
  { kind: 'short-greeting-beep', greetingMs: [3000, 5000], beep: true, delayMs: [100, 600] },
  { kind: 'music-greeting-beep', greetingMs: [3000, 15000], beep: true, musicMs: [2000, 4000], delayMs: [100, 400] },
  // Silence before the greeting (a voicemail system that takes a moment to start playing).
  { kind: 'silence-greeting-beep', greetingMs: [3000, 15000], beep: true, delayMs: [800, 1500] },
];
const VOICES = ['en', 'en-us', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-us-nyc', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd'];
const VARIANTS = ['', '+f1', '+f2', '+f3', '+f4', '+f5', '+m1', '+m2', '+m3', '+m5', '+m7'];
const NOISES = ['white', 'pink', 'brown'] as const;
const LEVELS = [0, -10, -20];
const BEEP_HZ = [440, 500, 800, 850, 1000, 1400, 2000];

/** Telcordia SIT segments: (Hz, ms) × 3, and what the dial should end with. */
const SIT_CODES: { code: string; segments: [number, number][]; outcome: 'not-found' | 'unavailable'; text: string }[] = [
  { code: 'IC', segments: [[913.8, 274], [1370.6, 274], [1776.7, 380]], outcome: 'not-found', text: 'The number you have dialled is not in service. Please check the number and try again.' },
  { code: 'VC', segments: [[985.2, 380], [1370.6, 274], [1776.7, 380]], outcome: 'not-found', text: 'Your call cannot be completed as dialled. Please check the number and dial again.' },
  { code: 'NC', segments: [[913.8, 380], [1370.6, 380], [1776.7, 380]], outcome: 'unavailable', text: 'All circuits are busy now. Please try your call again later.' },
  { code: 'NC-inter', segments: [[985.2, 380], [1428.5, 380], [1776.7, 380]], outcome: 'unavailable', text: 'All circuits are busy now. Please try your call again later.' },
  // Reorder: 913.8 Hz short, 1428.5 Hz long (Telcordia SR-2275; this file had the lengths swapped).
  { code: 'RO', segments: [[913.8, 274], [1428.5, 380], [1776.7, 380]], outcome: 'unavailable', text: 'We are sorry, your call did not go through. Will you please try your call again.' },
];

type Writer = (cls: CorpusClass, name: string, track: Track, label: Omit<CorpusLabel, 'class' | 'durationMs' | 'levelDb' | 'law'>, line?: { levelDb: number; law: 'ulaw' | 'alaw' }) => void;

/** The random stream of one file (mulberry32 seeded from the corpus seed, the class and the index). */
function fileRandom(seed: number, cls: number, i: number): () => number {
  return seededRandom((Math.imul(seed, 1_000_003) + cls * 100_019 + i * 7919) >>> 0);
}

/** People answering and answering machines (see PEOPLE, MACHINES), written with `write`. */
function peopleAndMachines(seed: number, people: number, machines: number, write: Writer): void {
  for (let i = 0; i < people; i++) {
    const rand = fileRandom(seed, 1, i);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const between = (a: number, b: number): number => Math.round(a + rand() * (b - a));
    const recipe = PEOPLE[Math.floor(i / 2) % PEOPLE.length];
    const voice = pick(VOICES) + pick(VARIANTS);
    const pitch = between(20, 90);
    const wpm = between(140, 200);
    const peakDbfs = -between(3, 15);
    const track = new Track();
    track.add(silence(between(...recipe.delayMs)));
    const text = pick(recipe.texts);
    const at = track.add(toPeak(speak(text, { voice, pitch, wpm }), peakDbfs));
    let speechEndMs = at.endMs;
    let said = text;
    if (recipe.kind === 'hello-twice') {
      track.add(silence(between(1200, 2500)));
      const again = pick(HELLO_AGAIN);
      said += ` … ${again}`;
      speechEndMs = track.add(toPeak(speak(again, { voice, pitch, wpm }), peakDbfs - between(0, 3))).endMs;
    }
    track.add(silence(between(2000, 3000)));
    let pcm = track.pcm();
    let noiseDbfs: number | undefined;
    let noiseKind: string | undefined;
    if (rand() < 0.5) {
      noiseDbfs = -between(35, 50);
      noiseKind = pick(NOISES);
      pcm = mixMono(pcm, noise(noiseKind as (typeof NOISES)[number], pcm.length, noiseDbfs, rand));
    }
    const out = new Track();
    out.add(pcm);
    write('human', `person-${String(i + 1).padStart(3, '0')}`, out, {
      split: i % 2 === 0 ? 'tuning' : 'held-out',
      kind: recipe.kind,
      voice: `${voice} pitch ${pitch} ${wpm} wpm`,
      text: said,
      speechStartMs: at.startMs,
      speechEndMs,
      peakDbfs,
      noiseDbfs,
      noiseKind,
      tones: [],
    }, { levelDb: pick(LEVELS), law: pick(['ulaw', 'alaw'] as const) });
  }

  for (let i = 0; i < machines; i++) {
    const rand = fileRandom(seed, 2, i);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const between = (a: number, b: number): number => Math.round(a + rand() * (b - a));
    const recipe = MACHINES[Math.floor(i / 2) % MACHINES.length];
    const voice = pick(VOICES) + pick(VARIANTS);
    const pitch = between(20, 85);
    const wpm = between(140, 195);
    // Sentences (in a random order) with pauses of 250–700 ms, until the greeting reaches its
    // length (one that would pass 20 s is left out).
    const targetMs = between(...recipe.greetingMs);
    const order = [...GREETING_PARTS.keys()];
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [order[k], order[j]] = [order[j], order[k]];
    }
    const parts: string[] = [];
    const pieces: Int16Array[] = [];
    let length = 0;
    for (const k of order) {
      if (length >= (targetMs * CORPUS_SAMPLE_RATE) / 1000) break;
      const sentence = toPeak(speak(GREETING_PARTS[k], { voice, pitch, wpm }), -3);
      const pause = parts.length > 0 ? silence(between(250, 700)) : new Int16Array(0);
      if (parts.length > 0 && length + pause.length + sentence.length > 19.5 * CORPUS_SAMPLE_RATE) continue;
      parts.push(GREETING_PARTS[k]);
      pieces.push(pause, sentence);
      length += pause.length + sentence.length;
    }
    const track = new Track();
    track.add(silence(between(...recipe.delayMs)));
    let musicMs: number | undefined;
    if (recipe.musicMs) {
      const m = track.add(toPeak(music(between(...recipe.musicMs), rand, pick([200, 250, 300])), -between(6, 12)));
      musicMs = m.endMs - m.startMs;
    }
    const said = track.add(concat(pieces));
    const labelledTones: LabelledTone[] = [];
    let beepEndMs: number | null = null;
    let beepHz: number | null = null;
    if (recipe.beep) {
      track.add(silence(between(150, 700)));
      beepHz = rand() < 0.4 ? between(440, 2000) : pick(BEEP_HZ);
      const b = track.add(beep(between(200, 1000), beepHz, -between(6, 12)));
      beepEndMs = b.endMs;
      labelledTones.push({ hz: [beepHz], ...b, kind: 'beep' });
    }
    track.add(silence(between(2000, 3000)));
    // A third of the greetings were recorded with some hiss.
    let noiseDbfs: number | undefined;
    let noiseKind: string | undefined;
    let pcm = track.pcm();
    if (rand() < 0.33) {
      noiseDbfs = -between(50, 60);
      noiseKind = pick(NOISES);
      pcm = mixMono(pcm, noise(noiseKind as (typeof NOISES)[number], pcm.length, noiseDbfs, rand));
    }
    const out = new Track();
    out.add(pcm);
    write('machine', `greeting-${String(i + 1).padStart(3, '0')}`, out, {
      split: i % 2 === 0 ? 'tuning' : 'held-out',
      kind: recipe.kind,
      voice: `${voice} pitch ${pitch} ${wpm} wpm`,
      text: parts.join(' '),
      speechStartMs: said.startMs,
      speechEndMs: said.endMs,
      beepEndMs,
      beepHz,
      musicMs,
      noiseDbfs,
      noiseKind,
      tones: labelledTones,
    }, { levelDb: pick(LEVELS), law: pick(['ulaw', 'alaw'] as const) });
  }
}

/** Generates the corpus into `out` and returns its labels (also written as `labels.json`). */
export function makeCorpus(options: CorpusOptions): Corpus {
  const seed = options.seed ?? 13;
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const between = (a: number, b: number): number => Math.round(a + rand() * (b - a));
  const corpus: Corpus = { seed, files: {} };
  let counter = 0;

  const write: Writer = (cls, name, track, label, line) => {
    const levelDb = line?.levelDb ?? LEVELS[counter % LEVELS.length];
    const law = line?.law ?? (counter % 2 === 0 ? 'ulaw' : 'alaw');
    counter++;
    const gain = 10 ** (levelDb / 20);
    const scaled = Int16Array.from(track.pcm(), (x) => clamp16(Math.round(x * gain)));
    const pcm = law === 'ulaw' ? decodeUlaw(encodeUlaw(scaled)) : decodeAlaw(encodeAlaw(scaled));
    const file = `${cls}/${name}.wav`;
    mkdirSync(join(options.out, cls), { recursive: true });
    const data = int16ToPcm16le(pcm);
    writeFileSync(join(options.out, file), Buffer.concat([wavHeader(CORPUS_SAMPLE_RATE, 1, data.length), data]));
    corpus.files[file] = { class: cls, durationMs: ms(pcm.length), levelDb, law, ...label };
  };

  peopleAndMachines(seed, options.people ?? 120, options.machines ?? 120, write);

  // Fax: CNG (calling: 1100 Hz, 0.5 s on, 3 s off), CED (answering: 2100 Hz, 2.6–4 s), ANSam.
  for (let i = 0; i < 2; i++) {
    const track = new Track();
    track.add(silence(between(200, 1500)));
    const t = cadence(track, [1100], -15, [500, 3000], 8000, 'CNG');
    write('fax', `cng-${i + 1}`, track, { tone: 'CNG', tones: t });
  }
  for (let i = 0; i < 2; i++) {
    const track = new Track();
    track.add(silence(between(200, 1500)));
    const at = track.add(tones([{ hz: 2100, levelDbfs: -12 }], between(2600, 4000)));
    track.add(silence(1000));
    write('fax', `ced-${i + 1}`, track, { tone: 'CED', tones: [{ hz: [2100], ...at, kind: 'CED' }] });
  }
  for (let i = 0; i < 2; i++) {
    const track = new Track();
    track.add(silence(between(200, 1500)));
    const at = track.add(ansam(between(2600, 4000), -14));
    track.add(silence(1000));
    write('fax', `ansam-${i + 1}`, track, { tone: 'ANSam', tones: [{ hz: [2100], ...at, kind: 'ANSam' }] });
  }

  // Special information tones, each followed by its announcement.
  for (const sit of SIT_CODES) {
    const track = new Track();
    track.add(silence(between(100, 800)));
    const labelledTones: LabelledTone[] = [];
    for (const [hz, dur] of sit.segments) {
      labelledTones.push({ hz: [hz], ...track.add(tones([{ hz, levelDbfs: -20 }], dur)), kind: 'SIT' });
      track.add(silence(2));
    }
    track.add(silence(between(100, 300)));
    const voice = pick(VOICES);
    const said = track.add(toPeak(speak(sit.text, { voice, wpm: 150 }), -12));
    track.add(silence(500));
    write('sit', `sit-${sit.code}`, track, { tone: sit.code, outcome: sit.outcome, voice, text: sit.text, speechStartMs: said.startMs, speechEndMs: said.endMs, tones: labelledTones });
  }

  // Busy and congestion: North American (480 + 620 Hz) and European (425 Hz, ETSI TR 101 041).
  const NETWORK: { cls: 'busy' | 'congestion'; name: string; plan: string; hz: number[]; cadence: number[] }[] = [
    { cls: 'busy', name: 'busy-us', plan: 'North America', hz: [480, 620], cadence: [500, 500] },
    { cls: 'busy', name: 'busy-etsi', plan: 'CEPT', hz: [425], cadence: [500, 500] },
    { cls: 'congestion', name: 'reorder-us', plan: 'North America', hz: [480, 620], cadence: [250, 250] },
    { cls: 'congestion', name: 'congestion-etsi', plan: 'CEPT (Italy, Spain)', hz: [425], cadence: [200, 200] },
  ];
  // More plans (added after the first four, so that those files and the random draws before them
  // stay as they were): UK (BT SIN 350: 400 Hz), CEPT congestion 0.25 / 0.25, Australia, Japan; the
  // last ones over line noise.
  const MORE_NETWORK: typeof NETWORK = [
    { cls: 'busy', name: 'busy-uk', plan: 'UK', hz: [400], cadence: [375, 375] },
    { cls: 'congestion', name: 'congestion-uk', plan: 'UK', hz: [400], cadence: [400, 350, 225, 525] },
    { cls: 'congestion', name: 'congestion-cept', plan: 'CEPT', hz: [425], cadence: [250, 250] },
    { cls: 'busy', name: 'busy-au', plan: 'Australia', hz: [425], cadence: [375, 375] },
    { cls: 'busy', name: 'busy-jp', plan: 'Japan', hz: [400], cadence: [500, 500] },
    { cls: 'busy', name: 'busy-us-noisy', plan: 'North America', hz: [480, 620], cadence: [500, 500] },
    { cls: 'congestion', name: 'congestion-cept-noisy', plan: 'CEPT', hz: [425], cadence: [250, 250] },
  ];
  const network = (n: (typeof NETWORK)[number], noiseDbfs?: number): void => {
    const track = new Track();
    track.add(silence(between(100, 400)));
    const t = cadence(track, n.hz, -16, n.cadence, 6000, n.cls);
    if (noiseDbfs === undefined) return write(n.cls, n.name, track, { plan: n.plan, tones: t });
    const noisy = new Track();
    const pcm = track.pcm();
    noisy.add(mixMono(pcm, whiteNoise(pcm.length / 8, noiseDbfs, seed * 1000 + 500 + counter)));
    write(n.cls, n.name, noisy, { plan: n.plan, noiseDbfs, tones: t });
  };
  for (const n of NETWORK) network(n);
  for (const n of MORE_NETWORK) network(n, n.name.endsWith('-noisy') ? -40 : undefined);

  writeFileSync(join(options.out, 'labels.json'), `${JSON.stringify(corpus, null, 1)}\n`);
  return corpus;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = arg('--out') ?? 'corpus';
  const seed = Number(arg('--seed') ?? 13);
  const people = Number(arg('--people') ?? 120);
  const machines = Number(arg('--machines') ?? 120);
  for (const [name, n] of [['--seed', seed], ['--people', people], ['--machines', machines]] as const) {
    if (!Number.isInteger(n) || (name !== '--seed' && n < 0)) {
      console.error(`make-corpus: ${name} must be ${name === '--seed' ? 'an integer' : 'a whole number'}`);
      process.exit(2);
    }
  }
  try {
    const corpus = makeCorpus({ out, seed, people, machines });
    const byClass = new Map<string, number>();
    for (const l of Object.values(corpus.files)) byClass.set(l.class, (byClass.get(l.class) ?? 0) + 1);
    console.log(`make-corpus: ${Object.keys(corpus.files).length} files in ${out}/ (seed ${seed}): ${[...byClass].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  } catch (err) {
    console.error(`make-corpus: ${(err as Error).message}`);
    process.exit(1);
  }
}
