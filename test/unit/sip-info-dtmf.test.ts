/**
 * The SIP INFO DTMF bodies (lib/sip/sip-info-dtmf.ts) and the one-report-per-press rule
 * (lib/media/dtmf-merge.ts): pure functions and a class with an injected clock, no network.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DTMF_SYMBOLS } from '../../lib/capabilities/dtmf';
import { DTMF_MERGE_WINDOW_MS, DtmfMerge } from '../../lib/media/dtmf-merge';
import { formatDtmfRelay, MAX_INFO_DTMF_BODY, parseInfoDtmf } from '../../lib/sip/sip-info-dtmf';

describe('SIP INFO DTMF bodies (sip-info-dtmf)', function () {
  describe('formatDtmfRelay', function () {
    it('writes Signal and Duration, CRLF-terminated, as application/dtmf-relay', function () {
      assert.deepEqual(formatDtmfRelay('5', 160), { contentType: 'application/dtmf-relay', content: 'Signal=5\r\nDuration=160\r\n' });
      assert.equal(formatDtmfRelay('#', 100).content, 'Signal=#\r\nDuration=100\r\n');
      assert.equal(formatDtmfRelay('*', 250).content, 'Signal=*\r\nDuration=250\r\n');
      assert.equal(formatDtmfRelay('D', 1000).content, 'Signal=D\r\nDuration=1000\r\n');
    });

    it('refuses anything but one upper-case DTMF key and a whole duration (nothing unchecked reaches a message)', function () {
      for (const bad of ['', '55', 'd', 'E', '5\r\nX-Evil: 1', ' ', '\n']) {
        assert.throws(() => formatDtmfRelay(bad, 100), TypeError, JSON.stringify(bad));
      }
      for (const bad of [0, -1, 100.5, NaN, Infinity, 10_001]) {
        assert.throws(() => formatDtmfRelay('1', bad), TypeError, String(bad));
      }
    });

    it('every key survives format → parse', function () {
      for (const digit of DTMF_SYMBOLS) {
        const { contentType, content } = formatDtmfRelay(digit, 160);
        assert.deepEqual(parseInfoDtmf(contentType, content), { statusCode: 200, digit, durationMs: 160 });
      }
    });
  });

  describe('parseInfoDtmf: application/dtmf-relay', function () {
    it('reads Signal and Duration as peers write them (CRLF, LF, spaces, any case, parameters on the type)', function () {
      const cases: Array<[string, string, string, number | undefined]> = [
        ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', '5', 160],
        ['application/dtmf-relay', 'Signal=5\nDuration=250\n', '5', 250],
        ['Application/DTMF-Relay', 'signal = 9\r\nduration = 100', '9', 100],
        ['application/dtmf-relay; charset=utf-8', 'Signal= #\r\n', '#', undefined],
        ['application/dtmf-relay', 'Signal=*\r\nDuration=abc\r\n', '*', undefined],
        ['application/dtmf-relay', 'Signal=b\r\n', 'B', undefined],
        ['application/dtmf-relay', 'Duration=80\r\nSignal=0\r\n', '0', 80],
        ['application/dtmf-relay', 'Garbage line\r\nSignal=7\r\n', '7', undefined],
      ];
      for (const [type, body, digit, durationMs] of cases) {
        const expected = durationMs === undefined ? { statusCode: 200, digit } : { statusCode: 200, digit, durationMs };
        assert.deepEqual(parseInfoDtmf(type, body), expected, JSON.stringify(body));
      }
    });

    it('takes RFC 4733 event numbers as Asterisk does: 10 → *, 11 → #, 12-15 → A-D, 16 is a flash (200, no key)', function () {
      const events: Array<[string, string]> = [['0', '0'], ['9', '9'], ['10', '*'], ['11', '#'], ['12', 'A'], ['15', 'D']];
      for (const [signal, digit] of events) {
        assert.deepEqual(parseInfoDtmf('application/dtmf-relay', `Signal=${signal}\r\nDuration=100\r\n`), { statusCode: 200, digit, durationMs: 100 });
      }
      const flash = parseInfoDtmf('application/dtmf-relay', 'Signal=16\r\nDuration=100\r\n');
      assert.equal(flash.statusCode, 200);
      assert.equal(flash.statusCode === 200 && flash.digit, null);
      const bang = parseInfoDtmf('application/dtmf-relay', 'Signal=!\r\n');
      assert.equal(bang.statusCode === 200 && bang.digit, null);
    });

    it('400 for a DTMF body without a key we can read', function () {
      for (const body of ['', 'Duration=100\r\n', 'Signal=\r\n', 'Signal=17\r\n', 'Signal=55\r\n', 'Signal=E\r\n', 'Signal=-1\r\n', 'Signal=x\r\nDuration=100', 'hello', 'Signal=5'.padEnd(MAX_INFO_DTMF_BODY + 1, ' ')]) {
        const reading = parseInfoDtmf('application/dtmf-relay', body);
        assert.equal(reading.statusCode, 400, JSON.stringify(body.slice(0, 40)));
      }
    });
  });

  describe('parseInfoDtmf: application/dtmf and others', function () {
    it('application/dtmf: the body is the key (symbol or event number)', function () {
      const cases: Array<[string, string]> = [['5', '5'], ['5\r\n', '5'], [' # ', '#'], ['*', '*'], ['10', '*'], ['11', '#'], ['c', 'C']];
      for (const [body, digit] of cases) assert.deepEqual(parseInfoDtmf('application/dtmf', body), { statusCode: 200, digit }, JSON.stringify(body));
      for (const body of ['', '55', '123', 'Signal=5', '20', '#5']) assert.equal(parseInfoDtmf('application/dtmf', body).statusCode, 400, JSON.stringify(body));
    });

    it('an INFO without a body is a keep-alive: 200, no key', function () {
      assert.deepEqual(parseInfoDtmf(undefined, ''), { statusCode: 200, digit: null, note: 'an INFO without a body' });
      assert.equal(parseInfoDtmf(undefined, undefined).statusCode, 200);
    });

    it('another content type is 415 (also a body without a content type)', function () {
      for (const [type, body] of [
        ['application/media_control+xml', '<media_control/>'],
        ['text/plain', '5'],
        ['application/sdp', 'v=0'],
        [undefined, 'Signal=5'],
      ] as const) {
        const reading = parseInfoDtmf(type, body);
        assert.equal(reading.statusCode, 415, String(type));
        assert.ok(reading.statusCode === 415 && !/[\r\n]/.test(reading.problem));
      }
    });

    it('never throws, whatever it is given (property)', function () {
      fc.assert(
        fc.property(fc.option(fc.string(), { nil: undefined }), fc.option(fc.string({ unit: 'binary' }), { nil: undefined }), (type, body) => {
          const r = parseInfoDtmf(type, body);
          assert.ok([200, 400, 415].includes(r.statusCode));
          if (r.statusCode === 200 && r.digit !== null) assert.ok(DTMF_SYMBOLS.includes(r.digit) && r.digit.length === 1);
        }),
        { numRuns: 300 },
      );
      // Values a JavaScript caller could pass despite the types.
      assert.equal(parseInfoDtmf(42 as never, {} as never).statusCode, 200);
    });
  });
});

describe('DtmfMerge: one report per key press, whatever number of ways it came', function () {
  let t = 0;
  const now = (): number => t;
  beforeEach(() => {
    t = 1_000_000;
  });

  it('a key as RFC 4733 (at its start) and as tones (at their end, 100 ms later) is one press', function () {
    const m = new DtmfMerge({ now });
    assert.equal(m.accept({ digit: '5', source: 'rfc4733' }), true);
    t += 150;
    assert.equal(m.accept({ digit: '5', source: 'inband', durationMs: 100 }), false);
  });

  it('the tones first, then the events: still one press; the first report wins', function () {
    const m = new DtmfMerge({ now });
    assert.equal(m.accept({ digit: '#', source: 'inband', durationMs: 100 }), true);
    t += 40;
    assert.equal(m.accept({ digit: '#', source: 'rfc4733' }), false);
  });

  it('the same key twice from the same source is two presses, however close', function () {
    const m = new DtmfMerge({ now });
    assert.equal(m.accept({ digit: '1', source: 'rfc4733' }), true);
    t += 20;
    assert.equal(m.accept({ digit: '1', source: 'rfc4733' }), true);
    t += 20;
    assert.equal(m.accept({ digit: '1', source: 'info' }), false, 'absorbed by the first press');
    assert.equal(m.accept({ digit: '1', source: 'info' }), false, 'absorbed by the second press');
    assert.equal(m.accept({ digit: '1', source: 'info' }), true, 'a third INFO is a third press');
  });

  it('"11" sent both ways quickly: two presses, each absorbing its own echo', function () {
    const m = new DtmfMerge({ now });
    const out: boolean[] = [];
    // events at 0 and 160 ms (100 ms keys, 60 ms gap); the detector reports each tone ~30 ms after it ends.
    out.push(m.accept({ digit: '1', source: 'rfc4733' }));
    t += 130;
    out.push(m.accept({ digit: '1', source: 'inband', durationMs: 100 }));
    t += 30;
    out.push(m.accept({ digit: '1', source: 'rfc4733' }));
    t += 130;
    out.push(m.accept({ digit: '1', source: 'inband', durationMs: 100 }));
    assert.deepEqual(out, [true, false, true, false]);
  });

  it('another key, or the same key from another source after the window, is a new press', function () {
    const m = new DtmfMerge({ now });
    assert.equal(m.accept({ digit: '1', source: 'rfc4733' }), true);
    assert.equal(m.accept({ digit: '2', source: 'inband', durationMs: 100 }), true);
    t += 100 + DTMF_MERGE_WINDOW_MS + 1;
    assert.equal(m.accept({ digit: '1', source: 'inband', durationMs: 100 }), true);
  });

  it('a key reported three ways is one press', function () {
    const m = new DtmfMerge({ now });
    assert.deepEqual(
      [m.accept({ digit: '9', source: 'info', durationMs: 250 }), m.accept({ digit: '9', source: 'rfc4733' }), m.accept({ digit: '9', source: 'inband', durationMs: 240 })],
      [true, false, false],
    );
  });

  it('forgets old presses (memory stays bounded on a long call) and checks its options', function () {
    const m = new DtmfMerge({ now });
    for (let i = 0; i < 10_000; i++) {
      m.accept({ digit: '1', source: 'rfc4733' });
      t += 200;
    }
    assert.ok((m as unknown as { presses: unknown[] }).presses.length < 30);
    assert.throws(() => new DtmfMerge({ windowMs: -1 }), /"windowMs" must be a whole number/);
    assert.throws(() => new DtmfMerge({ now: 5 as never }), /"now" must be a function/);
  });
});
