import { strict as assert } from 'node:assert';
import { fromModuleLevel, parseTestValues, toModuleLevel } from '../../lib/at/features/control';
import { checkChannel, checkVolume } from '../../lib/line/line-control';
import { InvalidInputError } from '../../lib/errors';

describe('control: volume mapping and value checks', () => {
  describe('parseTestValues (the answer of AT+X=?)', () => {
    const cases: Array<[string, number[] | null]> = [
      ['+CLVL: (0-5)', [0, 1, 2, 3, 4, 5]],
      ['+CLVL: (1-7)', [1, 2, 3, 4, 5, 6, 7]],
      ['+CMUT: (0,1)', [0, 1]],
      ['+QAUDCH: (0-2,4)', [0, 1, 2, 4]],
      ['+QAUDMOD: (0-5),(0,1)', [0, 1, 2, 3, 4, 5]],
      ['+CLVL: 0-3', [0, 1, 2, 3]],
      ['+CLVL: ()', null],
      ['+CLVL: (x-y)', null],
      ['garbage', null],
    ];
    for (const [line, values] of cases) {
      it(`${line} → ${JSON.stringify(values)}`, () => assert.deepEqual(parseTestValues(line), values));
    }
    it('caps an absurd range instead of allocating it', () => {
      assert.equal(parseTestValues('+CLVL: (0-99999999)')?.length, 1000);
    });
  });

  describe('0–11 onto the module range and back', () => {
    // level:          0  1  2  3  4  5  6  7  8  9 10 11
    const table: Array<[string, { min: number; max: number }, number[]]> = [
      ['(0-5), EC2x', { min: 0, max: 5 }, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]],
      ['(0-11), identity', { min: 0, max: 11 }, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
      ['(0-100), Unisoc', { min: 0, max: 100 }, [0, 9, 18, 27, 36, 45, 55, 64, 73, 82, 91, 100]],
      ['(1-7), not from 0', { min: 1, max: 7 }, [1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7]],
      ['(3-3), one step', { min: 3, max: 3 }, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]],
    ];
    for (const [name, range, expected] of table) {
      it(`maps onto ${name}`, () => {
        assert.deepEqual(
          expected.map((_, level) => toModuleLevel(level, range)),
          expected,
        );
      });
      it(`maps ${name} back onto 0–11 monotonically, ends fixed`, () => {
        const back = [];
        for (let m = range.min; m <= range.max; m++) back.push(fromModuleLevel(m, range));
        assert.equal(back[back.length - 1], 11);
        if (range.max > range.min) assert.equal(back[0], 0);
        for (let i = 1; i < back.length; i++) assert.ok(back[i] >= back[i - 1]);
        // the scale with fewer steps survives the round trip through the other one
        if (range.max - range.min <= 11) {
          for (let m = range.min; m <= range.max; m++) assert.equal(toModuleLevel(fromModuleLevel(m, range), range), m);
        } else {
          for (let level = 0; level <= 11; level++) assert.equal(fromModuleLevel(toModuleLevel(level, range), range), level);
        }
      });
    }
    it('reads (0-5) back as 0, 2, 4, 7, 9, 11', () => {
      assert.deepEqual([0, 1, 2, 3, 4, 5].map((m) => fromModuleLevel(m, { min: 0, max: 5 })), [0, 2, 4, 7, 9, 11]);
    });
    it('clamps a module level outside its own range', () => {
      assert.equal(fromModuleLevel(9, { min: 0, max: 5 }), 11);
      assert.equal(fromModuleLevel(0, { min: 1, max: 7 }), 0);
    });
  });

  describe('checks of what a flow gives', () => {
    it('takes volumes 0–11, also as numeric strings', () => {
      assert.equal(checkVolume(0), 0);
      assert.equal(checkVolume('11'), 11);
      assert.equal(checkVolume(' 7 '), 7);
    });
    for (const bad of [-1, 12, 3.5, '', 'loud', '7;+CFUN=0', null, undefined, true, {}, [], Number.NaN]) {
      it(`refuses the volume ${typeof bad === 'number' ? String(bad) : (JSON.stringify(bad) ?? String(bad))}`, () => {
        assert.throws(() => checkVolume(bad), (err: Error) => err instanceof InvalidInputError && /from 0 to 11/.test(err.message));
      });
    }
    it('takes the three channels, nothing else', () => {
      for (const c of ['handset', 'headset', 'speaker']) assert.equal(checkChannel(c), c);
      for (const bad of ['Speaker', 'loudspeaker', 2, '', undefined]) {
        assert.throws(() => checkChannel(bad), (err: Error) => err instanceof InvalidInputError && /handset, headset, speaker/.test(err.message));
      }
    });
  });
});
