import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JitterBuffer } from '../../lib/media/jitter-buffer';

/** Pushes sequence numbers (the item is the number itself); returns everything handed out, and the buffer. */
function run(seqs: readonly number[], depth?: number): { out: number[]; jb: JitterBuffer<number> } {
  const jb = new JitterBuffer<number>({ depth });
  const out: number[] = [];
  for (const s of seqs) out.push(...jb.push(s, s));
  return { out, jb };
}

describe('JitterBuffer', () => {
  it('hands packets in order straight through', () => {
    const { out, jb } = run([10, 11, 12, 13]);
    assert.deepEqual(out, [10, 11, 12, 13]);
    assert.deepEqual(jb.stats(), { received: 4, emitted: 4, lost: 0, duplicates: 0, late: 0, reordered: 0, strays: 0, resyncs: 0, pending: 0 });
  });

  it('puts reordered packets back in order', () => {
    const { out, jb } = run([1, 3, 2, 5, 4, 6]);
    assert.deepEqual(out, [1, 2, 3, 4, 5, 6]);
    assert.equal(jb.stats().reordered, 2);
    assert.equal(jb.stats().lost, 0);
  });

  it('gives a gap up when more than depth packets wait behind it, and counts the late arrival', () => {
    assert.deepEqual(run([1, 3, 4, 5, 2, 6]).out, [1, 2, 3, 4, 5, 6], 'three may wait');
    const { out, jb } = run([1, 3, 4, 5, 6, 2, 7]);
    assert.deepEqual(out, [1, 3, 4, 5, 6, 7]);
    const s = jb.stats();
    assert.equal(s.lost, 1);
    assert.equal(s.late, 1);
  });

  it('waits no longer than its depth', () => {
    assert.deepEqual(run([1, 3, 4], 1).out, [1, 3, 4]);
    assert.deepEqual(run([1, 3, 2], 0).out, [1, 3]);
    assert.deepEqual(run([1, 4, 3, 2], 3).out, [1, 2, 3, 4]);
  });

  it('drops and counts duplicates, waiting or already handed out', () => {
    const { out, jb } = run([1, 1, 3, 3, 2, 2]);
    assert.deepEqual(out, [1, 2, 3]);
    assert.equal(jb.stats().duplicates, 3);
  });

  it('wraps around 65535 → 0', () => {
    const { out, jb } = run([65534, 0, 65535, 1, 2]);
    assert.deepEqual(out, [65534, 65535, 0, 1, 2]);
    assert.equal(jb.stats().lost, 0);
  });

  it('flushes what waits at the end of a stream, counting the gaps', () => {
    const { out, jb } = run([1, 3, 5]);
    assert.deepEqual(out, [1]);
    assert.deepEqual(jb.flush(), [3, 5]);
    assert.equal(jb.stats().lost, 2);
    assert.equal(jb.stats().pending, 0);
  });

  it('follows a sender that restarts its numbering, and drops a lone stray', () => {
    const restarted = run([100, 101, 102, 40000, 40001, 40002]);
    assert.deepEqual(restarted.out, [100, 101, 102, 40000, 40001, 40002]);
    assert.equal(restarted.jb.stats().resyncs, 1);
    const stray = run([100, 101, 9000, 102, 103]);
    assert.deepEqual(stray.out, [100, 101, 102, 103]);
    assert.equal(stray.jb.stats().strays, 1);
  });

  it('hands out each packet at most once, in increasing order, and accounts for every packet (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.integer({ min: -4, max: 8 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 6 }),
        (start, steps, depth) => {
          let seq = start;
          const seqs = steps.map((d) => (seq = (seq + d) & 0xffff));
          const { out, jb } = run(seqs, depth);
          out.push(...jb.flush());
          const unwrapped = out.reduce<number[]>((acc, s) => {
            const prev = acc.length ? acc[acc.length - 1] : s - 1;
            acc.push(prev + ((((s - prev) & 0xffff) << 16) >> 16));
            return acc;
          }, []);
          for (let i = 1; i < unwrapped.length; i++) assert.ok(unwrapped[i] > unwrapped[i - 1], `out of order: ${out}`);
          const st = jb.stats();
          assert.equal(st.emitted, out.length);
          assert.equal(st.received, st.emitted + st.duplicates + st.late + st.strays + st.pending);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('validates its depth', () => {
    assert.throws(() => new JitterBuffer({ depth: -1 }), /"depth" must be a whole number from 0 to 64/);
  });
});
