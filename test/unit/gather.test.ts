import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { InvalidInputError } from '../../lib/errors';
import { GATHER_DEFAULTS, Gather, GatherClock, GatherOptions, GatherResult, checkGatherOptions } from '../../lib/line/gather';

/** A clock whose time moves only when the test says; timers due at or before the new time fire first. */
class FakeClock implements GatherClock {
  now = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}

function activeCall(): Call {
  return new Call({ line: 'L', direction: 'inbound', remote: { number: '5550100' }, state: CallState.Active, reason: { text: 'test' } });
}

function endCall(call: Call): void {
  call.transition(CallState.Ended, { text: 'gone', end: { cause: 'normal', by: 'remote' } });
}

/** A line as a gather sees it: something that emits `report`, fed from the call's own reports. */
function setup(options: Partial<GatherOptions> = {}) {
  const source = new EventEmitter();
  const call = activeCall();
  call.on('report', (r) => source.emit('report', r));
  const clock = new FakeClock();
  const press = (digits: string) => {
    for (const digit of digits) call.report('dtmf', { digit, source: 'test' });
  };
  const start = (pressed = '') => new Gather(call, source, { ...GATHER_DEFAULTS, ...options }, clock, pressed);
  return { source, call, clock, press, start };
}

/** The result, once the gather has ended (it must have: the tests drive the clock synchronously). */
async function settled(g: Gather): Promise<GatherResult> {
  assert.equal(g.active, false, 'the gather has ended');
  return g.result;
}

describe('gather options', () => {
  it('fills in the defaults: up to 64 digits, # to finish, 5 s for the first digit, 3 s between', () => {
    assert.deepEqual(checkGatherOptions({}), { maxDigits: 64, finishKey: '#', firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000 });
    assert.deepEqual(checkGatherOptions(), checkGatherOptions({}));
  });

  it('takes numbers as numeric strings (the editor keeps strings), a lower-case key, and no finish key', () => {
    assert.deepEqual(checkGatherOptions({ maxDigits: '4', finishKey: 'd', firstDigitTimeoutMs: '0', interDigitTimeoutMs: 250 }), {
      maxDigits: 4,
      finishKey: 'D',
      firstDigitTimeoutMs: 0,
      interDigitTimeoutMs: 250,
    });
    for (const none of [null, '', 'none']) assert.equal(checkGatherOptions({ finishKey: none }).finishKey, null);
  });

  it('refuses values out of range and unknown names, with the name in the message', () => {
    const bad: [unknown, RegExp][] = [
      [{ maxDigits: 0 }, /maxDigits must be a whole number from 1 to 64, got number 0/],
      [{ maxDigits: 65 }, /maxDigits/],
      [{ maxDigits: 2.5 }, /maxDigits/],
      [{ maxDigits: 'four' }, /maxDigits/],
      [{ finishKey: '##' }, /finishKey must be one of 0-9, \*, #, A-D or "none"/],
      [{ finishKey: 'E' }, /finishKey/],
      [{ finishKey: 3 }, /finishKey/],
      [{ firstDigitTimeoutMs: -1 }, /firstDigitTimeoutMs must be a whole number from 0 to 600000/],
      [{ interDigitTimeoutMs: 600001 }, /interDigitTimeoutMs/],
      [{ maxdigits: 4 }, /unknown gather option "maxdigits": use maxDigits, finishKey, firstDigitTimeoutMs, interDigitTimeoutMs/],
      ['4', /must be an object, got string 4/],
      [[4], /must be an object, got an array/],
      [null, /must be an object, got null/],
    ];
    for (const [input, message] of bad) assert.throws(() => checkGatherOptions(input), (e: Error) => e instanceof InvalidInputError && message.test(e.message), JSON.stringify(input));
  });
});

describe('Gather', () => {
  it('ends with max-digits when maxDigits were pressed; later digits are not taken', async () => {
    const { start, press } = setup({ maxDigits: 3, finishKey: null });
    const g = start();
    press('1234');
    assert.deepEqual(await settled(g), { digits: '123', reason: 'max-digits' });
  });

  it('ends on the finish key and leaves it out', async () => {
    const { start, press } = setup({ finishKey: '#' });
    const g = start();
    press('12*3#45');
    assert.deepEqual(await settled(g), { digits: '12*3', reason: 'finish-key' });
  });

  it('a finish key pressed first gives no digits', async () => {
    const { start, press } = setup({ finishKey: '*' });
    const g = start();
    press('*');
    assert.deepEqual(await settled(g), { digits: '', reason: 'finish-key' });
  });

  it('the finish key does not count towards maxDigits', async () => {
    const { start, press } = setup({ maxDigits: 2, finishKey: '#' });
    const g = start();
    press('1#');
    assert.deepEqual(await settled(g), { digits: '1', reason: 'finish-key' });
  });

  it('counts the keys pressed before it started that it is given (a prompt\'s barge-in key) first', async () => {
    const one = setup({ maxDigits: 1, finishKey: null });
    assert.deepEqual(await settled(one.start('2')), { digits: '2', reason: 'max-digits' });
    const more = setup({ maxDigits: 3, finishKey: '#', interDigitTimeoutMs: 3000 });
    const g = more.start('4');
    assert.equal(g.active, true, 'one of three digits: still collecting');
    more.clock.advance(2999);
    more.press('5#');
    assert.deepEqual(await settled(g), { digits: '45', reason: 'finish-key' });
    const finish = setup({ finishKey: '#' });
    assert.deepEqual(await settled(finish.start('#')), { digits: '', reason: 'finish-key' });
  });

  it('ends with first-digit-timeout when nothing comes in time', async () => {
    const { start, clock } = setup({ firstDigitTimeoutMs: 5000 });
    const g = start();
    clock.advance(4999);
    assert.equal(g.active, true);
    clock.advance(1);
    assert.deepEqual(await settled(g), { digits: '', reason: 'first-digit-timeout' });
  });

  it('ends with inter-digit-timeout, counted from the latest digit', async () => {
    const { start, clock, press } = setup({ firstDigitTimeoutMs: 1000, interDigitTimeoutMs: 3000 });
    const g = start();
    clock.advance(900);
    press('4');
    clock.advance(2999); // well past the first-digit timeout: that one no longer applies
    press('2');
    clock.advance(2999);
    assert.equal(g.active, true);
    clock.advance(1);
    assert.deepEqual(await settled(g), { digits: '42', reason: 'inter-digit-timeout' });
  });

  it('0 ms means no limit', async () => {
    const { start, clock, press, call } = setup({ firstDigitTimeoutMs: 0, interDigitTimeoutMs: 0 });
    const g = start();
    clock.advance(3_600_000);
    press('7');
    clock.advance(3_600_000);
    assert.equal(g.active, true);
    assert.equal(clock.pending, 0, 'no timer at all');
    endCall(call);
    assert.deepEqual(await settled(g), { digits: '7', reason: 'call-ended' });
  });

  it('ends with call-ended, keeping the digits so far', async () => {
    const { start, press, call } = setup();
    const g = start();
    press('12');
    endCall(call);
    assert.deepEqual(await settled(g), { digits: '12', reason: 'call-ended' });
  });

  it('on a call that has already ended, ends at once', async () => {
    const { call, start } = setup();
    endCall(call);
    assert.deepEqual(await settled(start()), { digits: '', reason: 'call-ended' });
  });

  it('ends with cancelled on cancel(), keeping the digits so far; ending twice changes nothing', async () => {
    const { start, press, call } = setup();
    const g = start();
    press('9');
    g.cancel();
    g.cancel();
    press('8');
    endCall(call);
    assert.deepEqual(await settled(g), { digits: '9', reason: 'cancelled' });
  });

  it('does not count digits pressed before it started, nor other calls\' digits, nor other reports', async () => {
    const { start, press, source } = setup({ finishKey: '#' });
    press('55');
    const g = start();
    const other = activeCall();
    other.on('report', (r) => source.emit('report', r));
    other.report('dtmf', { digit: '9' });
    source.emit('report', { call: g.call, topic: 'transfer', payload: { digit: '9' } });
    source.emit('report', { call: g.call, topic: 'dtmf', payload: { digit: 'X' } });
    source.emit('report', { call: g.call, topic: 'dtmf', payload: { digit: '12' } });
    press('1#');
    assert.deepEqual(await settled(g), { digits: '1', reason: 'finish-key' });
  });

  it('removes its listeners and timer when it ends, whatever the reason', async () => {
    for (const end of ['max', 'finish', 'time', 'call', 'cancel'] as const) {
      const { start, press, clock, call, source } = setup({ maxDigits: 1, finishKey: '#' });
      const g = start();
      assert.equal(source.listenerCount('report'), 1);
      if (end === 'max') press('1');
      else if (end === 'finish') press('#');
      else if (end === 'time') clock.advance(GATHER_DEFAULTS.firstDigitTimeoutMs);
      else if (end === 'call') endCall(call);
      else g.cancel();
      await settled(g);
      assert.equal(source.listenerCount('report'), 0, end);
      assert.equal(call.listenerCount('ended'), 0, end);
      assert.equal(clock.pending, 0, end);
    }
  });

  /**
   * Any stream of key presses at any times, with any options, gives the result of this model: time
   * runs; a timer due at the moment a key arrives wins; keys are taken in order.
   */
  function model(o: GatherOptions, presses: { after: number; digit: string }[], endAfterStream: number): GatherResult {
    let t = 0;
    let digits = '';
    let deadline = o.firstDigitTimeoutMs > 0 ? o.firstDigitTimeoutMs : Infinity;
    const timedOut = (): GatherResult => ({ digits, reason: digits === '' ? 'first-digit-timeout' : 'inter-digit-timeout' });
    for (const p of presses) {
      t += p.after;
      if (t >= deadline) return timedOut();
      if (p.digit === o.finishKey) return { digits, reason: 'finish-key' };
      digits += p.digit;
      if (digits.length >= o.maxDigits) return { digits, reason: 'max-digits' };
      deadline = o.interDigitTimeoutMs > 0 ? t + o.interDigitTimeoutMs : Infinity;
    }
    if (t + endAfterStream >= deadline) return timedOut();
    return { digits, reason: 'call-ended' };
  }

  it('gives the same result as the model for any key stream and timing (property)', async () => {
    const symbol = fc.constantFrom(...'0123456789*#ABCD');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          maxDigits: fc.integer({ min: 1, max: 64 }),
          finishKey: fc.option(symbol, { nil: null }),
          firstDigitTimeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
          interDigitTimeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
        }),
        fc.array(fc.record({ after: fc.integer({ min: 0, max: 4000 }), digit: symbol }), { maxLength: 80 }),
        fc.integer({ min: 0, max: 4000 }),
        async (options, presses, endAfterStream) => {
          const { start, press, clock, call, source } = setup(options);
          const g = start();
          for (const p of presses) {
            clock.advance(p.after);
            press(p.digit);
          }
          clock.advance(endAfterStream);
          endCall(call);
          const result = await settled(g);
          assert.deepEqual(result, model(options, presses, endAfterStream));
          // Invariants the model implies, said plainly.
          assert.ok(result.digits.length <= options.maxDigits);
          assert.equal(result.reason === 'max-digits', result.digits.length === options.maxDigits);
          if (options.finishKey) assert.ok(!result.digits.includes(options.finishKey));
          assert.equal(source.listenerCount('report'), 0);
          assert.equal(clock.pending, 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
