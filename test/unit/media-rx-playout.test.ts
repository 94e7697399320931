import assert from 'node:assert/strict';
import fc from 'fast-check';
import { legFrame, pick } from '../../lib/media/call-legs';
import { RxPlayout } from '../../lib/media/rx-playout';

/** `n` samples counting up from `from` (each sample says where it is in the stream). */
const ramp = (n: number, from = 1): Int16Array => Int16Array.from({ length: n }, (_, i) => from + i);
const silent = (a: Int16Array): boolean => a.every((s) => s === 0);

describe('RxPlayout (received audio lined up with the send clock)', () => {
  it('hands out silence until two frames wait, then one 160-sample frame per tick, in order', () => {
    const p = new RxPlayout();
    p.push(ramp(160, 1));
    assert.ok(silent(p.take()), 'priming: one frame is not enough');
    p.push(ramp(160, 161));
    assert.deepEqual(p.take(), ramp(160, 1));
    p.push(ramp(160, 321));
    assert.deepEqual(p.take(), ramp(160, 161));
    assert.equal(p.backlog, 160, 'one frame kept in reserve');
    assert.deepEqual(p.stats(), { received: 480, dropped: 0, silentFrames: 1, underruns: 0 });
  });

  it('a late packet is absorbed by the reserve (no silence); a lost run becomes silence and the reserve is rebuilt', () => {
    const p = new RxPlayout();
    p.push(ramp(320, 1));
    assert.deepEqual(p.take(), ramp(160, 1));
    // The next packet is late: the reserve covers this tick.
    assert.deepEqual(p.take(), ramp(160, 161));
    p.push(ramp(160, 321));
    p.push(ramp(160, 481));
    assert.deepEqual(p.take(), ramp(160, 321));
    assert.deepEqual(p.take(), ramp(160, 481));
    // Nothing comes for two ticks (lost, hold): silence, counted as one underrun.
    assert.ok(silent(p.take()));
    assert.ok(silent(p.take()));
    p.push(ramp(160, 641));
    assert.ok(silent(p.take()), 'rebuilding the reserve');
    p.push(ramp(160, 801));
    assert.deepEqual(p.take(), ramp(160, 641));
    assert.equal(p.stats().underruns, 1);
    assert.equal(p.stats().silentFrames, 3);
  });

  it('keeps at most maxBacklogSamples waiting: a burst drops the oldest, so the lag stays bounded', () => {
    const p = new RxPlayout({ maxBacklogSamples: 480 });
    p.push(ramp(800, 1));
    assert.equal(p.backlog, 480);
    assert.equal(p.stats().dropped, 320);
    assert.deepEqual(p.take(), ramp(160, 321));
    p.push(ramp(2000, 801)); // more than the whole ring at once
    assert.equal(p.backlog, 480);
    assert.deepEqual(p.take(), ramp(160, 2801 - 480));
  });

  it('over any arrival pattern: every sample handed out is received audio in order or silence, one frame per take, lag bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), (steps) => {
        const p = new RxPlayout();
        let next = 1;
        let last = 0;
        for (const [packets, takes] of steps) {
          for (let i = 0; i < packets; i++) {
            p.push(ramp(160, next));
            next += 160;
          }
          for (let i = 0; i < takes; i++) {
            const frame = p.take();
            assert.equal(frame.length, 160);
            for (const s of frame) {
              if (s === 0) continue;
              assert.ok(s > last, 'in order, never twice');
              last = s;
            }
            assert.ok(p.backlog <= p.maxBacklogSamples);
          }
        }
        const s = p.stats();
        assert.equal(s.received, next - 1);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses options out of range with a TypeError naming them', () => {
    assert.throws(() => new RxPlayout({ primeSamples: 10 }), /"primeSamples" must be a whole number from 160/);
    assert.throws(() => new RxPlayout({ maxBacklogSamples: 100 }), /"maxBacklogSamples"/);
  });
});

describe('call legs (legFrame, pick)', () => {
  const rx = Int16Array.from([1000, 30000, -30000]);
  const tx = Int16Array.from([24, 5000, -5000]);
  it('mono: rx, tx, or both mixed and clipped', () => {
    assert.equal(legFrame({ direction: 'rx', channels: 1 }, rx, tx), rx);
    assert.equal(legFrame({ direction: 'tx', channels: 1 }, rx, tx), tx);
    assert.deepEqual([...legFrame({ direction: 'both', channels: 1 }, rx, tx)], [1024, 32767, -32768]);
    assert.deepEqual([...pick('both', rx, tx)], [1024, 32767, -32768]);
  });
  it('stereo: interleaved, left rx, right tx; two channels of one leg is refused', () => {
    assert.deepEqual([...legFrame({ direction: 'both', channels: 2 }, rx, tx)], [1000, 24, 30000, 5000, -30000, -5000]);
    assert.throws(() => legFrame({ direction: 'rx', channels: 2 }, rx, tx), /direction "both"/);
  });
});
