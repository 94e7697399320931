import assert from 'node:assert/strict';
import { POOLED_MAX, allocInt16 } from '../../lib/media/int16-pool';

describe('Int16Array pool', () => {
  it('hands out zero-filled arrays that never overlap', () => {
    const arrays = Array.from({ length: 100 }, (_, i) => allocInt16(1 + (i % 300)));
    arrays.forEach((a, i) => {
      assert.equal(a.length, 1 + (i % 300));
      assert.ok(a.every((v) => v === 0));
      a.fill(i + 1);
    });
    arrays.forEach((a, i) => assert.ok(a.every((v) => v === i + 1), `array ${i} was overwritten`));
  });

  it('gives long arrays their own memory', () => {
    const big = allocInt16(POOLED_MAX + 1);
    assert.equal(big.byteOffset, 0);
    assert.equal(big.buffer.byteLength, (POOLED_MAX + 1) * 2);
    assert.equal(allocInt16(0).length, 0);
  });
});
