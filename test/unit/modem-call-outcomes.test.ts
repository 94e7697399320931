import { strict as assert } from 'node:assert';
import { mock } from 'node:test';
import fc from 'fast-check';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { AtBackend } from '../../lib/at/modem-backend';
import { ScriptedCall, ScriptedModem, ScriptedReply, scriptedBackend, settle } from '../helpers/scripted-modem';

/** Where the module prints a line about the call it released on our hang-up. */
type Placement = 'before-ok' | 'after-ok' | 'after-ok-apart' | 'before-next-reply';
const PLACEMENTS: readonly Placement[] = ['before-ok', 'after-ok', 'after-ok-apart', 'before-next-reply'];

/** The final result the module gives the new `ATD`, and the outcome the new call must get from it. */
const DIAL_OUTCOMES = {
  OK: null,
  BUSY: { cause: 'busy', finalResult: 'BUSY' },
  'NO ANSWER': { cause: 'no-answer', finalResult: 'NO ANSWER' },
  'NO CARRIER': { cause: 'not-found', finalResult: 'NO CARRIER' }, // with +CEER cause 1
  ERROR: { cause: 'failed', finalResult: 'ERROR' },
  '+CME ERROR: 30': { cause: 'failed', finalResult: '+CME ERROR: 30' },
} as const;
type DialFinal = keyof typeof DIAL_OUTCOMES;

interface Scenario {
  kind: 'asr' | 'generic';
  /** The old call's lines after our hang-up (its ^DSCI release on ASR, a NO CARRIER), in order, each placed. */
  late: Array<{ line: 'release' | 'NO CARRIER'; at: Placement }>;
  /** When the flow dials: while the hang-up is in flight, as soon as it returned, or a little later. */
  dialAt: 'during-hangup' | 'after-hangup' | 'later';
  dialFinal: DialFinal;
  /** ASR: the new call's ^DSCI dialing line comes before the ATD's final. */
  newCallUrc: boolean;
}

const OLD: ScriptedCall = { index: 1, dir: 0, stat: 0, number: '5550001' };
const NEW_NUMBER = '5550003';
const HANGUP = { signal: 'normal', endCause: 'normal', text: 'hung up by the flow' } as const;

/** Fake time: `ms` in small steps, the streams and promises running between them. */
async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    mock.timers.tick(10);
    await settle(5);
  }
}

async function upWith(modem: ScriptedModem): Promise<{ backend: AtBackend; calls: Call[]; everWaiting: Call[] }> {
  const { backend } = scriptedBackend(modem);
  const calls: Call[] = [];
  const everWaiting: Call[] = [];
  backend.on('call', (c: Call) => {
    calls.push(c);
    if (c.state === CallState.Waiting) everWaiting.push(c);
    c.on('transition', (t: { to: CallState }) => t.to === CallState.Waiting && everWaiting.push(c));
  });
  await backend.start();
  await settle();
  assert.ok(backend.ready, `the line is up (${backend.status.text})`);
  return { backend, calls, everWaiting };
}

/**
 * Plays a scenario: a call up, the flow hangs it up and dials again; the module prints the old call's
 * lines where the scenario says and answers the new ATD with `dialFinal`. Then a call comes in.
 */
async function play(sc: Scenario): Promise<void> {
  const modem = new ScriptedModem(sc.kind);
  modem.calls = [{ ...OLD }];
  const { backend, calls, everWaiting } = await upWith(modem);
  try {
    await advance(20);
    const old = calls[0];
    assert.equal(old?.state, CallState.Active, 'the call reported by the module is up');
    const lineOf = (l: Scenario['late'][number]): string => (l.line === 'release' ? modem.dsciReleased(OLD) : 'NO CARRIER');
    const late = sc.late.filter((l) => l.line !== 'release' || sc.kind === 'asr');
    const placed = (at: Placement): string[] => late.filter((l) => l.at === at).map(lineOf);
    modem.answer = (cmd): ScriptedReply | undefined => {
      if (/^AT\+(CHUP|QHUP=)/.test(cmd)) {
        modem.calls = [];
        const next = placed('before-next-reply');
        if (next.length > 0) modem.printBeforeReply(0, ...next);
        return { info: placed('before-ok'), final: 'OK', after: placed('after-ok'), apart: placed('after-ok-apart') };
      }
      if (cmd === `ATD${NEW_NUMBER};`) {
        const urc = sc.kind === 'asr' && sc.newCallUrc ? [`^DSCI: 1,0,2,0,${NEW_NUMBER},129,0`] : [];
        if (sc.dialFinal === 'OK') modem.calls = [{ index: 1, dir: 0, stat: 2, number: NEW_NUMBER }];
        if (sc.dialFinal === 'NO CARRIER') modem.ceer = '+CEER: "CC INFO",1,"Unassigned (unallocated) number"';
        return { info: urc, final: sc.dialFinal };
      }
      return undefined;
    };
    const hangup = backend.hangup(old, HANGUP);
    let dialled: Promise<Call> | undefined;
    if (sc.dialAt === 'during-hangup') dialled = backend.dial(NEW_NUMBER, {});
    await hangup;
    if (sc.dialAt === 'after-hangup') dialled = backend.dial(NEW_NUMBER, {});
    if (sc.dialAt === 'later') {
      await advance(100);
      dialled = backend.dial(NEW_NUMBER, {});
    }
    let fresh: Call | undefined;
    void dialled!.then((c) => (fresh = c));
    await advance(300);
    assert.ok(fresh, `dial() returned (commands: ${modem.commands.join(' | ')})`);
    const call = fresh!;

    assert.equal(old.state, CallState.Ended, 'the old call ended');
    assert.equal(old.end?.by, 'local');
    assert.equal(old.end?.cause, 'normal', JSON.stringify(old.end));
    assert.notEqual(call, old);
    const expected = DIAL_OUTCOMES[sc.dialFinal];
    if (expected) {
      assert.equal(call.state, CallState.Ended, `the new call ended by its own ${sc.dialFinal}`);
      assert.equal(call.end?.cause, expected.cause, JSON.stringify(call.end));
      assert.equal(call.end?.by, 'remote');
      assert.equal(call.end?.finalResult, expected.finalResult, JSON.stringify(call.end));
    } else {
      assert.equal(call.ended, false, `the new call is up, not ${JSON.stringify(call.end)} (commands: ${modem.commands.join(' | ')})`);
      modem.calls = [{ index: 1, dir: 0, stat: 0, number: NEW_NUMBER }];
      await advance(100);
      assert.equal(call.state, CallState.Active);
      modem.answer = (cmd) => (/^AT\+(CHUP|QHUP=)/.test(cmd) ? ((modem.calls = []), { final: 'OK' }) : undefined);
      await backend.hangup(call, HANGUP);
      await advance(100);
      assert.equal(call.end?.by, 'local');
    }
    assert.equal(calls.length, 2, `two calls, no phantom: ${calls.map((c) => `${c.direction} ${c.state}`).join(', ')}`);
    assert.deepEqual(backend.calls(), [], 'no call left in the table');

    // A call that comes in now is incoming, not waiting behind a phantom.
    modem.calls = [{ index: 1, dir: 1, stat: 4, number: '5550002' }];
    modem.print('RING', '+CLIP: "5550002",129,"",0,"",0');
    await advance(50);
    assert.equal(calls.length, 3);
    assert.equal(calls[2].state, CallState.Incoming);
    assert.equal(calls[2].remote.number, '5550002');
    assert.deepEqual(everWaiting, []);
  } finally {
    await backend.stop();
  }
}

describe('AT call outcomes: every final result has one owner (scripted module, fake timers)', function () {
  this.timeout(60000);
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  for (const kind of ['asr', 'generic'] as const) {
    for (const dialFinal of ['BUSY', 'NO CARRIER'] as const) {
      it(`${kind}: hang up, dial at once, the module answers the new ATD with ${dialFinal}: the NEW call gets it, the old one ends normally`, async () => {
        await play({ kind, late: [], dialAt: 'after-hangup', dialFinal, newCallUrc: false });
      });
    }

    it(`${kind}: the old call's NO CARRIER printed after our hang-up is never the new ATD's result, and an incoming call after is incoming`, async () => {
      await play({ kind, late: [{ line: 'release', at: 'after-ok' }, { line: 'NO CARRIER', at: 'before-next-reply' }], dialAt: 'after-hangup', dialFinal: 'OK', newCallUrc: true });
    });
  }

  it('property: the old call\'s late lines, URCs and the new ATD in any order: the new call gets its own outcome, no phantom record survives', async () => {
    const lateLine = fc.record({ line: fc.constantFrom('release' as const, 'NO CARRIER' as const), at: fc.constantFrom(...PLACEMENTS) });
    const scenario: fc.Arbitrary<Scenario> = fc.record({
      kind: fc.constantFrom('asr' as const, 'generic' as const),
      late: fc.uniqueArray(lateLine, { maxLength: 2, selector: (l) => l.line }),
      dialAt: fc.constantFrom('during-hangup' as const, 'after-hangup' as const, 'later' as const),
      dialFinal: fc.constantFrom(...(Object.keys(DIAL_OUTCOMES) as DialFinal[])),
      newCallUrc: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(scenario, (sc) => play(sc)), { numRuns: Number(process.env.OUTCOME_RUNS ?? 120) });
  });

  it('a stray call progress result is no evidence once AT+CLCC still lists the call after it', async () => {
    const modem = new ScriptedModem('generic');
    modem.calls = [{ ...OLD }];
    const { backend, calls } = await upWith(modem);
    try {
      await advance(20);
      const call = calls[0];
      modem.print('BUSY'); // about nothing we know: the module still lists the call
      await advance(100);
      assert.equal(call.state, CallState.Active);
      modem.calls = [];
      modem.print('NO CARRIER'); // the far end hangs up
      await advance(100);
      assert.equal(call.end?.cause, 'normal', JSON.stringify(call.end));
      assert.equal(call.end?.finalResult, 'NO CARRIER');
      assert.equal(call.end?.by, 'remote');
    } finally {
      await backend.stop();
    }
  });

  it('the line comes up on a module that answers a bare AT with ERROR', async () => {
    const modem = new ScriptedModem('generic');
    modem.answer = (cmd) => (cmd === 'AT' ? { final: 'ERROR' } : undefined);
    const { backend } = await upWith(modem);
    try {
      assert.equal(modem.commands.filter((c) => c === 'AT').length, 1, 'one AT: its ERROR is an answer');
      assert.ok(modem.commands.includes('ATE0'));
      assert.equal(backend.profile?.name, 'generic');
    } finally {
      await backend.stop();
    }
  });
});
