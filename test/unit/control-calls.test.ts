import { strict as assert } from 'node:assert';
import { AtError } from '../../lib/at/at-channel';
import { AtFeatureContext } from '../../lib/at/at-feature';
import { AtControl } from '../../lib/at/features/control';
import { SILENT_LOGGER } from '../../lib/backend';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { CallStateError, CommandFailedError, UnknownCallError } from '../../lib/errors';
import { Harness, startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

/** How each profile ends one call of two (the design's callEnd row). */
const PROFILES = [
  { sim: 'ec600n', report: 'dsci', endOne: (idx: number) => `AT+QHUP=16,${idx}` },
  { sim: 'ec200u', report: 'ccinfo', endOne: (idx: number) => `AT+QHUP=16,${idx}` },
  { sim: 'ec25', report: 'ccinfo', endOne: (idx: number) => `AT+QHUP=16,${idx}` },
  { sim: 'generic', report: 'poll', endOne: (idx: number) => `AT+CHLD=1${idx}` },
] as const;

/** The topics of one call's events, in order. */
const topicsOf = (h: Harness, call: Call) => h.events.filter((e) => e.call?.id === call.id).map((e) => e.topic);
const commandsSince = (h: Harness, mark: number) => h.modem().commands.slice(mark);

describe('control: hold, resume, swap and call waiting over AT+CHLD', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  /** A connected outgoing call A, then a second caller B who is `waiting`. */
  async function activeAndWaiting(harness: Harness): Promise<{ a: Call; b: Call }> {
    const dialled = await harness.line.dialAndWait('5551234');
    assert.equal(dialled.answered, true);
    harness.modem().incomingCall('+4930123456');
    const waiting = await harness.next('waiting');
    const b = harness.line.activeCalls().find((c) => c.id === waiting.call?.id);
    assert.ok(b, 'the waiting call is on the line');
    return { a: dialled.call, b };
  }

  for (const p of PROFILES) {
    describe(`${p.sim} (call state by ${p.report})`, () => {
      it('holds and resumes a call with AT+CHLD=2; held and resumed come once each', async () => {
        const h = track(await startLine(p.sim));
        const { call } = await h.line.dialAndWait('5551234');
        let mark = h.modem().commands.length;
        const held = await h.line.control.hold();
        assert.equal(held, call);
        assert.equal(call.state, 'held', 'resolved once the module reported it');
        assert.deepEqual(commandsSince(h, mark).filter((c) => c.startsWith('AT+CHLD')), ['AT+CHLD=2']);
        assert.equal(h.modem().calls[0].state, 'held');
        mark = h.modem().commands.length;
        await h.line.control.resume(call.id);
        assert.equal(call.state, 'active');
        assert.deepEqual(commandsSince(h, mark).filter((c) => c.startsWith('AT+CHLD')), ['AT+CHLD=2']);
        await h.line.control.hold(call.snapshot());
        await h.line.control.resume();
        await h.line.hangup(call.id);
        await h.next('ended');
        const topics = topicsOf(h, call);
        assert.deepEqual(topics.slice(topics.indexOf('answered')), ['answered', 'held', 'resumed', 'held', 'resumed', 'ended']);
      });

      it('call waiting: answers the waiting call (the first goes held), swaps, ends one, the other remains', async () => {
        const h = track(await startLine(p.sim));
        const { a, b } = await activeAndWaiting(h);
        let mark = h.modem().commands.length;
        await h.line.answer(b.id);
        assert.deepEqual(commandsSince(h, mark).filter((c) => /^AT(A|\+CHLD)/.test(c)), ['AT+CHLD=2'], 'answering a waiting call is AT+CHLD=2');
        await h.next('held', (e) => e.call?.id === a.id);
        assert.equal(b.state, 'active');

        mark = h.modem().commands.length;
        const swapped = await h.line.control.swap();
        assert.equal(swapped.active, a);
        assert.equal(swapped.held, b);
        assert.equal(a.state, 'active');
        assert.equal(b.state, 'held');
        assert.deepEqual(commandsSince(h, mark).filter((c) => c.startsWith('AT+CHLD')), ['AT+CHLD=2']);

        // End the active one of the two: only it goes.
        const idxA = a.index as number;
        assert.equal(typeof idxA, 'number');
        mark = h.modem().commands.length;
        await h.line.hangup(a.id);
        const end = await h.next('ended', (e) => e.call?.id === a.id);
        assert.equal(end.payload.cause, 'normal');
        assert.equal(end.payload.by, 'local');
        assert.ok(commandsSince(h, mark).includes(p.endOne(idxA)), `${p.endOne(idxA)} in ${commandsSince(h, mark).join(' ')}`);
        assert.deepEqual(h.line.activeCalls(), [b]);
        assert.equal(b.state, 'held');
        assert.deepEqual(h.modem().calls.map((c) => [c.idx, c.state]), [[b.index, 'held']]);

        await h.line.control.resume(b.id);
        assert.equal(b.state, 'active');
        assert.deepEqual(topicsOf(h, a).slice(-4), ['answered', 'held', 'resumed', 'ended']);
        assert.deepEqual(topicsOf(h, b), ['waiting', 'answered', 'held', 'resumed']);
      });

      it('refuses a request AT+CHLD=2 would turn into something else, sending nothing', async () => {
        const h = track(await startLine(p.sim));
        const { a, b } = await activeAndWaiting(h);
        const mark = h.modem().commands.length;
        await assert.rejects(h.line.control.hold(a.id), (err: Error) => err instanceof CallStateError && /is waiting, and holding now would answer it/.test(err.message));
        await assert.rejects(h.line.control.resume(a.id), (err: Error) => err instanceof CallStateError && /only a held call can be resumed/.test(err.message));
        await assert.rejects(h.line.control.hold(b.id), (err: Error) => err instanceof CallStateError && /is waiting: only an active call/.test(err.message));
        await assert.rejects(h.line.control.resume(), UnknownCallError);
        assert.deepEqual(commandsSince(h, mark).filter((c) => c.startsWith('AT+CHLD')), []);
        // swap with a waiting call means answering it: allowed, it is what the module does
        await h.line.control.swap();
        assert.equal(a.state, 'held');
        assert.equal(b.state, 'active');
        await assert.rejects(h.line.control.resume(a.id), (err: Error) => err instanceof CallStateError && /is active: use swap/.test(err.message));
        await h.line.control.hold(b.id).then(
          () => assert.fail('holding while another call is held must be refused'),
          (err: Error) => assert.ok(err instanceof CallStateError && /already on hold/.test(err.message), err.message),
        );
      });
    });
  }

  it('two holds at once: the second is checked after the first took effect, so it cannot resume the call', async () => {
    const h = track(await startLine('generic'));
    const { call } = await h.line.dialAndWait('5551234');
    const results = await Promise.allSettled([h.line.control.hold(call.id), h.line.control.hold(call.id)]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /is held: only an active call can be put on hold/);
    assert.equal(call.state, 'held');
    assert.equal(h.modem().commands.filter((c) => c === 'AT+CHLD=2').length, 1);
  });

  it('swap needs two calls', async () => {
    const h = track(await startLine('ec600n'));
    await assert.rejects(h.line.control.swap(), (err: Error) => err instanceof CallStateError && /this line has no calls/.test(err.message));
    await h.line.dialAndWait('5551234');
    await assert.rejects(h.line.control.swap(), (err: Error) => err instanceof CallStateError && /this line has active$/.test(err.message));
    assert.ok(!h.modem().commands.includes('AT+CHLD=2'));
  });

  it('a module that refuses AT+CHLD=2 gives a CommandFailedError with its answer', async () => {
    // A stub context: the module answers +CME ERROR: 3 to the hold.
    const call = new Call({ line: 'L', direction: 'outbound', remote: { number: '5551234' }, state: CallState.Active, reason: { text: 'test' }, index: 1 });
    const sent: string[] = [];
    const ctx = {
      log: SILENT_LOGGER,
      options: { timing: { callCommandTimeoutMs: 1000 } },
      calls: () => [call],
      poll: () => assert.fail('no poll after a refused command'),
      describeModem: () => 'Quectel EC600N (quectel-asr)',
      channel: () => ({
        send: async (cmd: string) => {
          sent.push(cmd);
          throw new AtError('error', cmd, 'refused', { final: '+CME ERROR: 3' });
        },
      }),
    } as unknown as AtFeatureContext;
    await assert.rejects(new AtControl(ctx).hold(call), (err: Error) => {
      assert.ok(err instanceof CommandFailedError);
      assert.equal(err.message, 'the modem could not change the held call: +CME ERROR: 3');
      assert.equal(err.evidence, 'AT+CHLD=2');
      return true;
    });
    assert.deepEqual(sent, ['AT+CHLD=2']);
    assert.equal(call.state, CallState.Active);
    assert.equal(call.listenerCount('transition'), 0, 'stopped waiting for the state report');
  });
});
