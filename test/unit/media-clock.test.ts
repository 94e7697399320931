import assert from 'node:assert/strict';
import { MediaClock, sharedMediaClock } from '../../lib/media/media-clock';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

describe('MediaClock', () => {
  it('ticks 50 ± 1 times a second with no cumulative drift over 20 ms (one subscriber)', async () => {
    // Generous on purpose: a busy CI machine delays single ticks (jitter); what must not happen is
    // that delays add up (drift), which would show as ticks lagging further and further behind.
    const clock = new MediaClock({ maxCatchUp: 100 });
    const fired: Array<{ tick: number; at: number }> = [];
    const start = nowMs();
    const stop = clock.subscribe((tick) => fired.push({ tick, at: nowMs() }));
    await sleep(1000);
    const elapsed = nowMs() - start;
    stop();
    const due = Math.floor(elapsed / 20) + 1; // ticks 0, 20, 40 ... ms up to now
    assert.ok(Math.abs(fired.length - 50) <= 1 || Math.abs(fired.length - due) <= 1, `${fired.length} ticks in ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(
      fired.map((f) => f.tick),
      fired.map((_, i) => i),
      'consecutive tick numbers',
    );
    const lateness = fired.map((f) => f.at - start - f.tick * 20);
    for (const [i, late] of lateness.entries()) assert.ok(late > -2, `tick ${i} came ${-late} ms early`);
    const sorted = [...lateness].sort((a, b) => a - b);
    assert.ok(sorted[Math.floor(sorted.length / 2)] < 20, `median lateness ${sorted[Math.floor(sorted.length / 2)]} ms`);
    const lastFive = lateness.slice(-5);
    assert.ok(Math.min(...lastFive) < 20, `still on time at the end of the second: ${lastFive.map((l) => l.toFixed(1))}`);
    const s = clock.stats();
    assert.equal(s.running, false);
    assert.equal(s.ticks, fired.length);
    assert.ok(s.lateness.p50Ms <= s.lateness.p99Ms && s.lateness.p99Ms <= s.lateness.maxMs + 0.1);
  });

  it('is one clock for all subscribers: starts with the first, stops after the last', async () => {
    const clock = new MediaClock();
    const a: number[] = [];
    const b: number[] = [];
    const stopA = clock.subscribe((t) => a.push(t));
    assert.equal(clock.stats().running, true);
    await sleep(70);
    const stopB = clock.subscribe((t) => b.push(t));
    assert.equal(clock.stats().subscribers, 2);
    await sleep(70);
    stopA();
    stopA(); // twice is harmless
    assert.equal(clock.stats().running, true);
    const aCount = a.length;
    await sleep(50);
    stopB();
    assert.equal(clock.stats().running, false);
    assert.equal(a.length, aCount, 'no tick after unsubscribing');
    assert.ok(b.length >= 4);
    assert.ok(b[0] >= 3, 'B joins the running clock: its first tick is not 0');
    for (let i = 1; i < b.length; i++) assert.equal(b[i], b[i - 1] + 1);
  });

  it('catches up after the event loop was blocked, and skips what is too old', async () => {
    const clock = new MediaClock({ maxCatchUp: 3 });
    const ticks: number[] = [];
    const stop = clock.subscribe((t) => ticks.push(t));
    await sleep(30);
    const until = nowMs() + 150;
    while (nowMs() < until) {
      /* block the loop for 150 ms (7 periods) */
    }
    await sleep(30);
    stop();
    const s = clock.stats();
    assert.ok(s.skipped >= 3, `${s.skipped} skipped`);
    assert.ok(s.late >= 1);
    assert.ok(s.lateness.maxMs >= 20, `max lateness ${s.lateness.maxMs} ms`);
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i] > ticks[i - 1]);
    const last = ticks[ticks.length - 1];
    assert.ok(last >= 9, `the tick number still follows the time (${last})`);
  });

  it('keeps running when a subscriber throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const clock = new MediaClock({ onError: (e) => errors.push(e) });
    let ok = 0;
    const stopBad = clock.subscribe(() => {
      throw new Error('boom');
    });
    const stopGood = clock.subscribe(() => ok++);
    await sleep(65);
    stopBad();
    stopGood();
    assert.ok(ok >= 3);
    assert.equal(errors.length, clock.stats().errors);
    assert.match(String(errors[0]), /boom/);
  });

  it('lets a subscriber unsubscribe and resubscribe from inside a tick without a second timer', async () => {
    const clock = new MediaClock();
    let count = 0;
    let stop: () => void = () => undefined;
    const handler = (): void => {
      count++;
      stop();
      if (count < 4) stop = clock.subscribe(handler);
    };
    stop = clock.subscribe(handler);
    await sleep(150);
    assert.equal(count, 4);
    assert.equal(clock.stats().running, false);
  });

  it('within a tick: one removed by an earlier subscriber is not called, one added is called from the next tick', async () => {
    const clock = new MediaClock({ periodMs: 5 });
    const calls: string[] = [];
    let tick = 0;
    let stopC: (() => void) | null = null;
    const stopA = clock.subscribe((t) => {
      calls.push(`a${t}`);
      if (++tick === 2) {
        stopB();
        stopC = clock.subscribe((u) => calls.push(`c${u}`));
      }
    });
    const stopB = clock.subscribe((t) => calls.push(`b${t}`));
    await sleep(60);
    stopA();
    (stopC as (() => void) | null)?.();
    assert.deepEqual(calls.slice(0, 5), ['a0', 'b0', 'a1', 'a2', 'c2']);
    assert.ok(!calls.includes('b1') && !calls.includes('c1'), calls.join(' '));
    assert.equal(clock.stats().running, false);
  });

  it("afterTick: after every subscriber of the tick, in the order asked, once; one that throws is counted and the rest run", async () => {
    const errors: unknown[] = [];
    const clock = new MediaClock({ onError: (err) => errors.push(err) });
    const seen: string[] = [];
    let ticks = 0;
    const stopA = clock.subscribe((tick) => {
      if (tick > 1) return;
      seen.push(`a${tick}`);
      clock.afterTick(() => seen.push(`after a${tick}`));
      clock.afterTick(() => {
        throw new Error('boom');
      });
      clock.afterTick(() => {
        seen.push(`after a${tick} (2)`);
        clock.afterTick(() => seen.push(`asked by an afterTick ${tick}`));
      });
    });
    const stopB = clock.subscribe((tick) => {
      ticks++;
      if (tick <= 1) seen.push(`b${tick}`);
    });
    while (ticks < 3) await sleep(5);
    stopA();
    stopB();
    assert.deepEqual(seen, [
      'a0', 'b0', 'after a0', 'after a0 (2)', 'asked by an afterTick 0',
      'a1', 'b1', 'after a1', 'after a1 (2)', 'asked by an afterTick 1',
    ]);
    assert.equal(errors.length, 2);
    assert.equal(clock.stats().errors, 2);
  });

  it('preciseWake: no tick comes before it is due (a plain clock delivers one up to 0.5 ms early, about 1 in 4), and none is skipped', async () => {
    // Measured from before the clock started, so a tick that came early shows as a negative lateness.
    // (maxCatchUp as in the first test: a busy machine may delay ticks, none may be skipped.)
    const clock = new MediaClock({ preciseWake: true, maxCatchUp: 100 });
    const start = nowMs();
    const lateness: number[] = [];
    const ticks: number[] = [];
    const stop = clock.subscribe((tick) => {
      lateness.push(nowMs() - start - tick * 20);
      ticks.push(tick);
    });
    await sleep(600);
    stop();
    assert.ok(ticks.length >= 25, `${ticks.length} ticks in 600 ms`);
    assert.deepEqual(ticks, ticks.map((_, i) => i), 'consecutive tick numbers');
    const early = lateness.filter((l) => l < 0);
    assert.equal(early.length, 0, `ticks before their due time: ${early.map((l) => l.toFixed(3)).join(', ')} ms`);
    assert.equal(clock.stats().ticks, ticks.length);
  });

  it('validates its options, and shares one instance', () => {
    assert.throws(() => new MediaClock({ periodMs: 1 }), /"periodMs"/);
    assert.throws(() => new MediaClock({ onError: 5 as never }), /"onError"/);
    assert.throws(() => new MediaClock({ preciseWake: 'yes' as never }), /"preciseWake"/);
    assert.throws(() => new MediaClock().subscribe(null as never), /"fn"/);
    assert.ok(sharedMediaClock instanceof MediaClock);
    assert.equal(sharedMediaClock.periodMs, 20);
    const c = new MediaClock();
    c.resetStats();
    assert.deepEqual(c.stats().lateness, { p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
