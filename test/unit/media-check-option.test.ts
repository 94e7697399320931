import assert from 'node:assert/strict';
import { checkInt, checkNumber, checkOneOf, checkOptions } from '../../lib/media/check-option';

describe('media option checks', () => {
  it('accept values in range and return them', () => {
    assert.equal(checkInt('n', 5, 0, 10), 5);
    assert.equal(checkNumber('x', 0.5, 0, 1), 0.5);
    assert.equal(checkOneOf('c', 2, [1, 2] as const), 2);
    const o = { a: 1 };
    assert.equal(checkOptions('Thing', o), o);
    assert.deepEqual(checkOptions('Thing', undefined), {});
  });

  it('throw a TypeError that names the option and shows the value', () => {
    assert.throws(() => checkInt('chunkMs', 1.5, 20, 1000), { name: 'TypeError', message: '"chunkMs" must be a whole number from 20 to 1000, got number 1.5' });
    assert.throws(() => checkInt('n', '5', 0, 10), /got string 5/);
    assert.throws(() => checkNumber('x', Number.NaN, 0, 1), /"x" must be a number from 0 to 1/);
    assert.throws(() => checkNumber('x', Infinity, 0, Infinity), /"x"/);
    assert.throws(() => checkOneOf('dir', 'up', ['rx', 'tx'] as const), /"dir" must be one of rx, tx, got string up/);
    assert.throws(() => checkOptions('Thing', [] as never), /Thing options must be an object, got an array/);
    assert.throws(() => checkOptions('Thing', null as never), /got null/);
  });
});
