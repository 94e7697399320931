import { strict as assert } from 'node:assert';
import { validatePhoneNumber } from '../../lib/validate';
import { InvalidInputError } from '../../lib/errors';

describe('validatePhoneNumber', () => {
  it('accepts digits, a leading +, * and #', () => {
    assert.equal(validatePhoneNumber('+4930123456'), '+4930123456');
    assert.equal(validatePhoneNumber('*21*0800#'), '*21*0800#');
    assert.equal(validatePhoneNumber(5551234), '5551234');
    assert.equal(validatePhoneNumber('+49 (30) 1234-56'), '+4930123456');
    assert.equal(validatePhoneNumber('+491234567890123'), '+491234567890123', '15 digits (E.164)');
    assert.equal(validatePhoneNumber(123456789012), '123456789012', 'a whole number of 12 digits');
    assert.equal(validatePhoneNumber('**21*0800123456#'), '**21*0800123456#', '* and # are not digits');
  });

  it('refuses more than 15 digits (E.164), saying so', () => {
    assert.throws(() => validatePhoneNumber('+4912345678901234'), /at most 15 digits/);
    assert.throws(() => validatePhoneNumber('1234 5678 9012 3456'), /at most 15 digits/);
  });

  it('refuses a JavaScript number of 13 digits or more: a timestamp, not a phone number', () => {
    const stamp = 1764921600000;
    assert.throws(() => validatePhoneNumber(stamp), (err: Error) => err instanceof InvalidInputError && err.message.includes(`${stamp}, which looks like a timestamp`));
    assert.equal(validatePhoneNumber(String(stamp)), String(stamp), 'written as a string it is 13 digits, a number');
  });

  for (const bad of ['123;+CFUN=0', '12"3', '123\r\nATH', '123\n', 'abc', '1+2', '', '   ', '1'.repeat(41), 'ATD123', '123,4']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => validatePhoneNumber(bad), InvalidInputError);
    });
  }

  it('refuses non-strings with a clear message', () => {
    assert.throws(() => validatePhoneNumber({ number: '1' }), /must be a string of digits, got an object/);
    assert.throws(() => validatePhoneNumber(null), /got null/);
    assert.throws(() => validatePhoneNumber(-5), /got number -5/);
  });

  it('shows control characters in the message instead of printing them', () => {
    assert.throws(() => validatePhoneNumber('1\r\n2'), (err: Error) => err.message.includes('1\\r\\n2'));
  });
});

describe('sim: port options', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSimOptions } = require('../../lib/at/serial-device') as typeof import('../../lib/at/serial-device');
  it('reads the profile, the demo period and the demo digits', () => {
    assert.deepEqual(parseSimOptions('sim:ec600n?demo=20&digits=123%23'), { profile: 'ec600n', demoEverySeconds: 20, demoDigits: '123#' });
    assert.equal(parseSimOptions('/dev/ttyUSB2'), null);
  });
  it('refuses what it does not know, naming it', () => {
    assert.throws(() => parseSimOptions('sim:nokia'), /names no emulated module/);
    assert.throws(() => parseSimOptions('sim:ec600n?demo=0'), /"demo"/);
    assert.throws(() => parseSimOptions('sim:ec600n?demo=5&digits=12;3'), /"digits"/);
    assert.throws(() => parseSimOptions('sim:ec600n?speed=9'), /unknown option "speed"/);
  });
});
