import assert from 'node:assert/strict';
import { FRAME, frameDbfs, MAX_BACKLOG, Mixer, TalkDetector } from '../../lib/conference/mixer';
import { goertzelCoefficient, goertzelPower } from '../../lib/media/goertzel';
import { beep, silence } from '../../lib/media/tone-generator';

/** A constant frame (every sample `v`). */
const flat = (v: number): Int16Array => new Int16Array(FRAME).fill(v);
const power = (s: Int16Array, hz: number): number => goertzelPower(s, goertzelCoefficient(hz));

describe('conference Mixer (N−1)', () => {
  it('each party hears the sum of the others, never itself', () => {
    const m = new Mixer<string>();
    for (const k of ['a', 'b', 'c']) m.add(k, { muted: false, deaf: false });
    m.push('a', flat(100));
    m.push('b', flat(20));
    m.push('c', flat(3));
    m.tick();
    assert.deepEqual([...(m.output('a') as Int16Array)].slice(0, 3), [23, 23, 23]);
    assert.equal((m.output('b') as Int16Array)[0], 103);
    assert.equal((m.output('c') as Int16Array)[0], 120);
    assert.equal(m.output('a'), null, 'a frame is taken once');
  });

  it('tones: a hears 600 and 900 Hz, not its own 300 Hz', () => {
    const m = new Mixer<string>();
    const tones: Record<string, number> = { a: 300, b: 600, c: 900 };
    for (const k of Object.keys(tones)) m.add(k, { muted: false, deaf: false });
    const heard: Record<string, Int16Array> = {};
    for (let t = 0; t < 10; t++) {
      for (const [k, hz] of Object.entries(tones)) m.push(k, beep(20, hz, -20));
      m.tick();
      for (const k of Object.keys(tones)) heard[k] = m.output(k) as Int16Array;
    }
    const a = heard.a;
    assert.ok(power(a, 600) > 1000 * power(a, 300), 'b heard, a not');
    assert.ok(power(a, 900) > 1000 * power(a, 300), 'c heard');
  });

  it('sums in 32 bits and clips to int16 (saturates, no wrap-around), counting the clipped samples', () => {
    const m = new Mixer<string>();
    for (const k of ['a', 'b', 'c', 'd']) m.add(k, { muted: false, deaf: false });
    for (const k of ['a', 'b', 'c']) m.push(k, flat(30000));
    m.push('d', flat(-30000));
    m.tick();
    assert.equal((m.output('d') as Int16Array)[0], 32767, '90000 clipped to 32767');
    assert.equal((m.output('a') as Int16Array)[0], 30000, '30000 + 30000 − 30000');
    const m2 = new Mixer<string>();
    for (const k of ['a', 'b', 'c']) m2.add(k, { muted: false, deaf: false });
    m2.push('a', flat(-20000));
    m2.push('b', flat(-20000));
    m2.push('c', flat(0));
    m2.tick();
    assert.equal((m2.output('c') as Int16Array)[0], -32768);
    assert.equal(m.stats().clipped, FRAME);
  });

  it('a muted party adds nothing but hears the others; a deaf party hears nothing but is heard', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: true, deaf: false });
    m.add('b', { muted: false, deaf: true });
    m.add('c', { muted: false, deaf: false });
    m.push('a', flat(1000));
    m.push('b', flat(10));
    m.push('c', flat(1));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 11);
    assert.equal(m.output('b'), null);
    assert.equal((m.output('c') as Int16Array)[0], 10, 'c hears b, not the muted a');
    m.set('a', { muted: false });
    m.push('a', flat(1000));
    m.push('c', flat(1));
    m.tick();
    assert.equal((m.output('c') as Int16Array)[0], 1000, 'unmuted: heard again (b sent nothing this tick)');
  });

  it('a party with no frame this tick adds silence and does not hold the others back', () => {
    const m = new Mixer<string>();
    for (const k of ['a', 'b', 'c']) m.add(k, { muted: false, deaf: false });
    m.push('a', flat(5));
    m.push('b', flat(7));
    m.tick();
    assert.equal((m.output('c') as Int16Array)[0], 12);
    assert.equal((m.output('a') as Int16Array)[0], 7);
    assert.equal(m.stats().missed, 1);
    // c's late packet arrives: it is heard next tick, once
    m.push('c', flat(100));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 100);
  });

  it('keeps at most 60 ms of a party waiting (older samples dropped)', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: false, deaf: false });
    m.add('b', { muted: false, deaf: false });
    for (let i = 1; i <= 5; i++) m.push('a', flat(i));
    assert.equal(m.stats().dropped, 5 * FRAME - MAX_BACKLOG);
    const heard: number[] = [];
    for (let t = 0; t < 4; t++) {
      m.tick();
      heard.push((m.output('b') as Int16Array)[0]);
    }
    assert.deepEqual(heard, [3, 4, 5, 0]);
  });

  it('while waiting every party hears the waiting audio, looped, and nothing of the others', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: false, deaf: false });
    m.add('b', { muted: false, deaf: false });
    const wait = new Int16Array(FRAME * 2).map((_, i) => i);
    m.setWaiting(wait);
    m.push('b', flat(999));
    m.tick();
    assert.deepEqual((m.output('a') as Int16Array)[5], 5);
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], FRAME);
    m.tick();
    const [a, b] = [m.output('a'), m.output('b')];
    assert.equal((b as Int16Array)[0], 0, 'looped');
    assert.notEqual(a, b, 'each party its own frame (a relay transfers its frame to another thread)');
    m.setWaiting(null);
    m.push('b', flat(42));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 42, 'mixing: the audio of the waiting time was not kept');
  });
});

describe('conference Mixer: audio to the whole room', () => {
  it('play: every party that is not deaf hears it once, on top of the others; dropped while waiting', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: false, deaf: false });
    m.add('b', { muted: false, deaf: true });
    m.add('c', { muted: false, deaf: false });
    m.play(new Int16Array(FRAME + 10).fill(50));
    m.push('c', flat(1));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 51);
    assert.equal((m.output('c') as Int16Array)[0], 50, 'c hears the beep, not itself');
    assert.equal(m.output('b'), null);
    m.tick();
    const out = m.output('a') as Int16Array;
    assert.deepEqual([out[9], out[10]], [50, 0], 'the rest of it, then nothing');
    m.setWaiting(flat(7));
    m.play(flat(1000));
    m.tick();
    m.setWaiting(null);
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 0, 'what was played while waiting is not kept');
  });
});

describe('conference TalkDetector', () => {
  it('talking after 60 ms above the threshold, silent after 600 ms below it; pauses between words stay talking', () => {
    const changes: Array<[boolean, number]> = [];
    const t = new TalkDetector({ thresholdDbfs: -40 }, (talking, level) => changes.push([talking, level]));
    const loud = beep(20, 440, -20);
    const quiet = silence(20);
    t.push(loud);
    t.push(loud);
    assert.deepEqual(changes, []);
    t.push(loud);
    assert.equal(changes.length, 1);
    assert.equal(changes[0][0], true);
    assert.ok(Math.abs(changes[0][1] - -23) < 1, `a −20 dBFS peak sine is −23 dBFS RMS, got ${changes[0][1]}`);
    for (let i = 0; i < 10; i++) t.push(quiet); // 200 ms pause
    t.push(loud);
    assert.equal(changes.length, 1, 'a pause of 200 ms is not silence');
    for (let i = 0; i < 29; i++) t.push(quiet);
    assert.equal(changes.length, 1);
    t.push(quiet);
    assert.deepEqual(changes[1], [false, -120]);
  });

  it('frameDbfs: full-scale square 0 dBFS, digital silence −120', () => {
    assert.equal(frameDbfs(flat(-32768)), 0);
    assert.equal(frameDbfs(flat(0)), -120);
  });
});
