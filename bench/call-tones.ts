/**
 * The tone detectors of lib/analysis over the labelled corpus (scripts/make-corpus.ts): beeps found
 * (and how soon after their end), beeps wrongly reported in speech or music, fax and SIT verdicts,
 * and the cost per second of audio.
 *
 *   npm run corpus && node dist/bench/call-tones.js [corpus]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyTone, sitFromTones } from '../lib/analysis/call-tones';
import { ToneDetector, ToneSegment } from '../lib/analysis/tone-detector';
import { pcm16leToInt16 } from '../lib/media/g711';
import { parseWav } from '../lib/media/wav-reader';
import type { Corpus } from '../scripts/make-corpus';

const dir = process.argv[2] ?? 'corpus';
const corpus = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Corpus;

let beepFiles = 0;
let beepsOnTime = 0;
const beepLate: string[] = [];
const falseBeeps: string[] = [];
let noBeepFiles = 0;
let faxFiles = 0;
let faxRight = 0;
let sitFiles = 0;
let sitRight = 0;
let audioSeconds = 0;
let cpuMs = 0;

for (const [file, label] of Object.entries(corpus.files)) {
  const buf = readFileSync(join(dir, file));
  const info = parseWav(buf);
  const pcm = pcm16leToInt16(buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes));
  const tones: ToneSegment[] = [];
  const t0 = process.hrtime.bigint();
  const d = new ToneDetector();
  d.on('tone', (t) => tones.push(t));
  for (let i = 0; i < pcm.length; i += 160) d.push(pcm.subarray(i, i + 160)); // 20 ms RTP frames
  d.end();
  cpuMs += Number(process.hrtime.bigint() - t0) / 1e6;
  audioSeconds += pcm.length / 8000;
  const beeps = tones.filter((t) => classifyTone(t) === 'beep');
  if (label.class === 'machine' && label.beepEndMs != null) {
    beepFiles++;
    const hit = beeps.find((b) => Math.abs(b.endMs - (label.beepEndMs as number)) <= 150 && Math.abs(b.frequencyHz / (label.beepHz as number) - 1) < 0.02);
    if (hit) beepsOnTime++;
    else beepLate.push(`${file} (${label.beepHz} Hz, end ${label.beepEndMs}: ${JSON.stringify(beeps)})`);
    const others = beeps.filter((b) => b !== hit);
    if (others.length) falseBeeps.push(`${file}: ${others.map((b) => `${b.frequencyHz} Hz ${b.durationMs} ms at ${b.startMs}`).join(', ')}`);
  } else if (label.class === 'human' || label.class === 'machine') {
    noBeepFiles++;
    if (beeps.length) falseBeeps.push(`${file}: ${beeps.map((b) => `${b.frequencyHz} Hz ${b.durationMs} ms at ${b.startMs}`).join(', ')}`);
  }
  if (label.class === 'fax') {
    faxFiles++;
    const kinds = new Set(tones.map(classifyTone));
    if ((label.tone === 'CNG' && kinds.has('fax-cng')) || (label.tone !== 'CNG' && kinds.has('fax-ced'))) faxRight++;
  }
  if (label.class === 'sit') {
    sitFiles++;
    const segs = tones.filter((t) => classifyTone(t) === 'sit-segment');
    const sit = sitFromTones(segs.slice(0, 3));
    if (sit && sit.code === label.tone && sit.outcome === label.outcome) sitRight++;
    else console.log(`SIT miss ${file}: ${JSON.stringify(sit)} from ${JSON.stringify(segs)}`);
  }
}

console.log(`beeps reported within 150 ms of their end: ${beepsOnTime}/${beepFiles} greetings with a beep`);
for (const l of beepLate) console.log(`  missed: ${l}`);
console.log(`beeps reported in speech or music (outside the labelled beep): ${falseBeeps.length} files of ${beepFiles + noBeepFiles}`);
for (const l of falseBeeps) console.log(`  ${l}`);
console.log(`fax tone recognised: ${faxRight}/${faxFiles}`);
console.log(`SIT code and outcome right: ${sitRight}/${sitFiles}`);
console.log(`cost: ${((cpuMs / audioSeconds) * 1000 / 1000).toFixed(3)} ms of CPU per second of audio (${audioSeconds.toFixed(0)} s); one core ≈ ${Math.floor(1000 / (cpuMs / audioSeconds))} streams in real time`);
