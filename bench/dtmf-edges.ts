/**
 * DTMF at the ITU-T Q.24 edges: how often the in-band detector (lib/media/goertzel-dtmf.ts) accepts
 * key presses at and just beyond each limit, with noise, through G.711 μ-law and A-law, at several
 * levels, and how far its measurements (twist, frequency, duration) stray from the truth.
 *
 *   npm run build && node dist/bench/dtmf-edges.js
 *
 * Every key × low-tone level (−10, −20, −30 dBFS) × codec (none, μ-law, A-law) × noise (none, and
 * four seeds of white noise 15 dB under the weaker tone), 40 ms tones unless the row says otherwise.
 */
import { dtmfFrequencies } from '../lib/media/tone-generator';
import { DTMF_KEYS, EdgePress, Law, detectAll, edgePressAudio } from '../test/helpers/dtmf-edges';

interface Row {
  name: string;
  expect: 'accept' | 'reject';
  press: Omit<EdgePress, 'key' | 'levelDbfs' | 'law' | 'seed' | 'snrDb'>;
}

const ROWS: Row[] = [
  { name: 'nominal, 40 ms', expect: 'accept', press: { toneMs: 40 } },
  { name: 'twist −8 dB', expect: 'accept', press: { toneMs: 40, twistDb: -8 } },
  { name: 'twist +4 dB', expect: 'accept', press: { toneMs: 40, twistDb: 4 } },
  { name: 'low −1.5 %, high +1.5 %', expect: 'accept', press: { toneMs: 40, lowFactor: 0.985, highFactor: 1.015 } },
  { name: 'low +1.5 %, high −1.5 %', expect: 'accept', press: { toneMs: 40, lowFactor: 1.015, highFactor: 0.985 } },
  { name: 'both +1.5 %, twist −8 dB', expect: 'accept', press: { toneMs: 40, lowFactor: 1.015, highFactor: 1.015, twistDb: -8 } },
  { name: 'both −1.5 %, twist +4 dB', expect: 'accept', press: { toneMs: 40, lowFactor: 0.985, highFactor: 0.985, twistDb: 4 } },
  { name: 'twist −10 dB', expect: 'reject', press: { toneMs: 40, twistDb: -10 } },
  { name: 'twist +6 dB', expect: 'reject', press: { toneMs: 40, twistDb: 6 } },
  { name: 'low −3.5 %', expect: 'reject', press: { toneMs: 40, lowFactor: 0.965 } },
  { name: 'low +3.5 %', expect: 'reject', press: { toneMs: 40, lowFactor: 1.035 } },
  { name: 'high −3.5 %', expect: 'reject', press: { toneMs: 40, highFactor: 0.965 } },
  { name: 'high +3.5 %', expect: 'reject', press: { toneMs: 40, highFactor: 1.035 } },
  { name: '22 ms tone', expect: 'reject', press: { toneMs: 22 } },
];

const LEVELS = [-10, -20, -30];
const LAWS: Law[] = ['none', 'ulaw', 'alaw'];
const NOISE: { snrDb?: number; seed: number }[] = [{ seed: 1 }, ...[2, 3, 4, 5].map((seed) => ({ snrDb: 15, seed }))];

function range(xs: number[]): string {
  if (xs.length === 0) return '—';
  return `${Math.min(...xs).toFixed(2)}…${Math.max(...xs).toFixed(2)}`;
}

console.log('| condition | expected | keys accepted | measured twist error, dB | measured frequency error, % (low; high) | measured duration, ms | reasons for the others |');
console.log('|---|---|---|---|---|---|---|');
for (const row of ROWS) {
  let n = 0;
  let accepted = 0;
  const twistErr: number[] = [];
  const lowErr: number[] = [];
  const highErr: number[] = [];
  const durations: number[] = [];
  const reasons = new Map<string, number>();
  for (const key of DTMF_KEYS) {
    for (const levelDbfs of LEVELS) {
      for (const law of LAWS) {
        for (const { snrDb, seed } of NOISE) {
          const press: EdgePress = { ...row.press, key, levelDbfs, law, snrDb, seed };
          const r = detectAll(edgePressAudio(press));
          n++;
          if (r.digits.length === 1 && r.digits[0].digit === key && r.rejects.length === 0) accepted++;
          else {
            const why = r.rejects.map((e) => e.reason).join('+') || (r.digits.length ? `digits ${r.digits.map((d) => d.digit).join('')}` : 'nothing');
            reasons.set(why, (reasons.get(why) ?? 0) + 1);
          }
          const e = r.digits[0] ?? r.rejects[0];
          if (!e) continue;
          twistErr.push(e.highDbfs - e.lowDbfs - (row.press.twistDb ?? 0));
          const [lowTrue, highTrue] = trueHz(key, row.press.lowFactor ?? 1, row.press.highFactor ?? 1);
          lowErr.push((100 * (e.lowHz - lowTrue)) / lowTrue);
          highErr.push((100 * (e.highHz - highTrue)) / highTrue);
          durations.push(e.durationMs);
        }
      }
    }
  }
  const why = [...reasons].map(([k, v]) => `${k} ${v}`).join(', ') || '—';
  console.log(
    `| ${row.name} | ${row.expect} | ${accepted}/${n} | ${range(twistErr)} | ${range(lowErr)}; ${range(highErr)} | ${range(durations)} | ${why} |`,
  );
}

function trueHz(key: string, lowFactor: number, highFactor: number): [number, number] {
  const [low, high] = dtmfFrequencies(key);
  return [low * lowFactor, high * highFactor];
}
