import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { ccfcCommand, parseCcfc, voiceRules } from '../../lib/at/features/forwarding';
import type { ForwardingEmulator } from '../../lib/at/emulator/features/forwarding';
import { Backend } from '../../lib/backend';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { FORWARD_MODES, ForwardMode, ForwardReason, TRANSFER_CAUSES, checkForwardRequest, transferCauseOfTargetEnd } from '../../lib/capabilities';
import type { Cause, EndInfo } from '../../lib/call/cause';
import { referRefusalCause, sipfragCause } from '../../lib/sip/sip-forwarding';
import { CallStateError, CommandFailedError, InvalidInputError, NotSupportedError } from '../../lib/errors';
import { VoiceLine } from '../../lib/line/voice-line';
import { Harness, startLine } from '../helpers/at-harness';
import { transferSteps } from '../helpers/event-log';

const ROUTINE: readonly ForwardReason[] = ['unconditional', 'busy', 'no-reply', 'not-reachable'];
const TARGET = '+4930123';

/** The `transfer` events of a call: `<status>[ <cause>]`, and their evidence. */
function reports(h: Harness, callId: string | undefined): { steps: string[]; evidence: unknown[] } {
  const events = h.events.filter((e) => e.topic === 'transfer' && e.call?.id === callId);
  return { steps: transferSteps({ events }), evidence: events.map((e) => e.payload.evidence) };
}

/** The forwarding commands the emulated module received (CCFC, CTFR, CHLD=4), in order. */
function forwardingCommands(h: Harness): string[] {
  return h.modem().commands.filter((c) => /^AT\+(CCFC|CTFR)|^AT\+CHLD=4$/.test(c));
}

function feature(h: Harness): ForwardingEmulator {
  return h.modem().feature<ForwardingEmulator>('forwarding');
}

describe('forwarding: requests and replies', () => {
  it('validates reason and mode names, and what each mode sends', () => {
    assert.deepEqual(checkForwardRequest({ reason: 'busy', mode: 'register', number: '+49 30 123' }), {
      reason: 'busy',
      mode: 'register',
      number: '+4930123',
    });
    assert.deepEqual(checkForwardRequest({ reason: 'no-reply', mode: 'enable', time: '25' }), { reason: 'no-reply', mode: 'enable', time: 25 });
    // query, disable and erase address the rule by reason alone: a node's number does not get in the way.
    assert.deepEqual(checkForwardRequest({ reason: 'busy', mode: 'query', number: 'not even a number', time: 99 }), { reason: 'busy', mode: 'query' });
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ reason: 'always', mode: 'query' }, /reason must be one of unconditional, busy, no-reply, not-reachable, all, all-conditional, got string always/],
      [{ reason: 'busy', mode: 2 }, /mode must be one of disable, enable, query, register, erase, got number 2/],
      [{ reason: 'busy', mode: 'register' }, /needs the number/],
      [{ reason: 'busy', mode: 'register', number: '123;+CFUN=0' }, /forwarding number "123;\+CFUN=0" is not valid/],
      [{ reason: 'no-reply', mode: 'register', number: '1', time: 4 }, /from 5 to 30, got number 4/],
      [{ reason: 'no-reply', mode: 'register', number: '1', time: 12.5 }, /whole number/],
      [{ reason: 'busy', mode: 'register', number: '1', time: 20 }, /applies to "no-reply" forwarding, not to "busy"/],
      [{ reason: 'all', mode: 'query' }, /query one reason at a time/],
    ];
    for (const [input, message] of refused) assert.throws(() => checkForwardRequest(input), (e: Error) => e instanceof InvalidInputError && message.test(e.message));
  });

  it('maps how the call to the target ended, a final sipfrag and a refused REFER to the transfer causes', () => {
    const end = (cause: Cause, by: 'local' | 'remote' = 'remote'): EndInfo => ({ cause, by });
    const ends: Array<[EndInfo | undefined, boolean, string]> = [
      [end('busy'), false, 'target-busy'],
      [end('no-answer', 'local'), false, 'timeout'],
      [end('timeout'), false, 'timeout'],
      [end('rejected'), false, 'target-rejected'],
      [end('not-found'), false, 'target-rejected'],
      [end('unavailable'), false, 'target-rejected'],
      [end('normal'), false, 'target-hangup'],
      [end('normal'), true, 'target-hangup'],
      [end('network-error'), false, 'failed'],
      [end('cancelled', 'local'), false, 'failed'],
      [undefined, false, 'failed'],
    ];
    for (const [e, answered, cause] of ends) assert.equal(transferCauseOfTargetEnd(e, answered), cause, JSON.stringify(e));
    const frags: Array<[number, string]> = [[486, 'target-busy'], [600, 'target-busy'], [603, 'target-rejected'], [480, 'target-rejected'], [503, 'target-rejected'], [487, 'target-hangup'], [408, 'timeout'], [302, 'failed']];
    for (const [code, cause] of frags) assert.equal(sipfragCause(code), cause, String(code));
    const refusals: Array<[number, string]> = [[405, 'failed'], [501, 'failed'], [603, 'failed'], [403, 'failed'], [481, 'hangup'], [408, 'timeout']];
    for (const [code, cause] of refusals) assert.equal(referRefusalCause(code), cause, String(code));
    for (const cause of [...ends.map((x) => x[2]), ...frags.map((x) => x[1]), ...refusals.map((x) => x[1])]) {
      assert.ok((TRANSFER_CAUSES as readonly string[]).includes(cause), `${cause} is a contract cause`);
    }
  });

  it('builds AT+CCFC with the number type, and the voice class only before a time', () => {
    assert.equal(ccfcCommand({ reason: 'busy', mode: 'query' }), 'AT+CCFC=1,2');
    assert.equal(ccfcCommand({ reason: 'unconditional', mode: 'register', number: '+4930123' }), 'AT+CCFC=0,3,"+4930123",145');
    assert.equal(ccfcCommand({ reason: 'not-reachable', mode: 'enable', number: '5551234' }), 'AT+CCFC=3,1,"5551234",129');
    assert.equal(ccfcCommand({ reason: 'no-reply', mode: 'register', number: '5551234', time: 25 }), 'AT+CCFC=2,3,"5551234",129,1,,,25');
    assert.equal(ccfcCommand({ reason: 'all-conditional', mode: 'erase' }), 'AT+CCFC=5,4');
  });

  it('parses +CCFC lines of every shape, keeping the rules that include voice', () => {
    assert.deepEqual(parseCcfc('+CCFC: 1,1,"+4930123",145,,,20', 'no-reply'), {
      reason: 'no-reply',
      active: true,
      classes: 1,
      number: '+4930123',
      numberType: 145,
      time: 20,
    });
    assert.deepEqual(parseCcfc('+CCFC: 0,7', 'busy'), { reason: 'busy', active: false, classes: 7 });
    assert.deepEqual(parseCcfc('+CCFC: 1,1,"5551234",129,"",128,25,"extra"', 'no-reply')?.time, 25);
    for (const junk of ['+CCFC: 2,1', '+CCFC: 1', '+CCFC:', '+CCFC: x,y', '+CLCC: 1,1', '']) assert.equal(parseCcfc(junk, 'busy'), null, junk);

    const lines = ['+CCFC: 1,4,"+4930999",145', '+CCFC: 1,1,"+4930123",145', '+CCFC: 1,2,"+4930123",145', '+CCFC: 1,5,"5551234",129', 'garbage'];
    assert.deepEqual(
      voiceRules(lines, 'unconditional').map((r) => [r.classes, r.number]),
      [
        [1, '+4930123'],
        [5, '5551234'],
      ],
    );
    // Forwarded for fax only, or nothing at all: voice calls are not forwarded.
    const none = [{ reason: 'busy', active: false, classes: 1 }];
    assert.deepEqual(voiceRules(['+CCFC: 1,4,"+4930999",145'], 'busy'), none);
    assert.deepEqual(voiceRules([], 'busy'), none);
  });
});

describe('forwarding on an AT line (emulator)', function () {
  this.timeout(10000);
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('sends every reason × mode as the exact AT+CCFC bytes, and reads each query back', async () => {
    h = await startLine('ec600n');
    const expected: string[] = [];
    const code = (r: ForwardReason) => ['unconditional', 'busy', 'no-reply', 'not-reachable'].indexOf(r);
    for (const reason of ROUTINE) {
      const r = code(reason);
      const steps: Array<[ForwardMode, string, boolean | null]> = [
        ['register', `AT+CCFC=${r},3,"${TARGET}",145`, null],
        ['query', `AT+CCFC=${r},2`, true],
        ['disable', `AT+CCFC=${r},0`, null],
        ['query', `AT+CCFC=${r},2`, false],
        ['enable', `AT+CCFC=${r},1`, null],
        ['query', `AT+CCFC=${r},2`, true],
        ['erase', `AT+CCFC=${r},4`, null],
        ['query', `AT+CCFC=${r},2`, false],
      ];
      for (const [mode, bytes, active] of steps) {
        const result = await h.line.forwarding.setRule(reason, mode, mode === 'register' ? TARGET : undefined);
        expected.push(bytes);
        assert.equal(h.modem().commands.at(-1), bytes, `${reason} ${mode}`);
        if (active === null) {
          assert.deepEqual(result, mode === 'register' ? { reason, mode, number: TARGET } : { reason, mode });
          continue;
        }
        // The emulated network answers one line per class (voice, data, fax): only voice is reported.
        const rules = result.rules ?? [];
        assert.equal(rules.length, 1, `${reason} ${mode}: one voice rule`);
        assert.equal(rules[0].active, active, `${reason}: the query after ${expected.at(-2)}`);
        if (active) assert.equal(rules[0].number, TARGET);
      }
    }
    assert.deepEqual(forwardingCommands(h), expected);
    assert.deepEqual(new Set(expected.map((c) => c.split(',')[1])), new Set(FORWARD_MODES.map((_, i) => String(i))), 'all five modes');
  });

  it('registers no-reply with a time, national number type 129, and queries the time back', async () => {
    h = await startLine('ec200u');
    await h.line.forwarding.setRule('no-reply', 'register', '555-1234', { time: 25 });
    assert.equal(h.modem().commands.at(-1), 'AT+CCFC=2,3,"5551234",129,1,,,25');
    const { rules } = await h.line.forwarding.setRule('no-reply', 'query');
    assert.deepEqual(rules, [{ reason: 'no-reply', active: true, classes: 1, number: '5551234', numberType: 129, time: 25 }]);
  });

  it('addresses all rules and all conditional rules at once (reasons 4 and 5)', async () => {
    h = await startLine('ec25');
    await h.line.forwarding.setRule('all', 'register', TARGET);
    assert.equal(h.modem().commands.at(-1), `AT+CCFC=4,3,"${TARGET}",145`);
    for (const reason of ROUTINE) assert.equal((await h.line.forwarding.setRule(reason, 'query')).rules?.[0].active, true, reason);
    await h.line.forwarding.setRule('all-conditional', 'erase');
    assert.equal(h.modem().commands.at(-1), 'AT+CCFC=5,4');
    const active = await Promise.all(ROUTINE.map(async (r) => (await h!.line.forwarding.setRule(r, 'query')).rules?.[0].active));
    assert.deepEqual(active, [true, false, false, false]);
  });

  it('never sends a bad request to the modem', async () => {
    h = await startLine('ec600n');
    const before = h.modem().commands.length;
    const attempts: Array<() => Promise<unknown>> = [
      () => h!.line.forwarding.setRule('unconditional', 'register', '123;+CFUN=0'),
      () => h!.line.forwarding.setRule('unconditional', 'register', '"+49"'),
      () => h!.line.forwarding.setRule('unconditional', 'register'),
      () => h!.line.forwarding.setRule('no-reply', 'register', TARGET, { time: 31 }),
      () => h!.line.forwarding.setRule('sometimes', 'query'),
      () => h!.line.forwarding.divert(undefined, '555\r\nATH'),
      () => h!.line.forwarding.transfer(undefined, 'ATD112;'),
      () => h!.line.forwarding.transferToCall(undefined, undefined),
    ];
    for (const attempt of attempts) await assert.rejects(attempt(), InvalidInputError);
    assert.deepEqual(h.modem().commands.slice(before), [], 'nothing reached the modem');
  });

  it('says what the network refused, and that a module without the service cannot', async () => {
    h = await startLine('ec600n');
    feature(h).refuseNext(30);
    await assert.rejects(h.line.forwarding.setRule('busy', 'query'), (e: Error) => {
      assert.ok(e instanceof CommandFailedError);
      assert.match(e.message, /querying call forwarding failed: the modem or the network refused it \(\+CME ERROR: 30\)/);
      assert.equal(e.evidence, 'AT+CCFC=1,2 → +CME ERROR: 30');
      return true;
    });
    feature(h).refuseNext(4);
    await assert.rejects(
      h.line.forwarding.setRule('busy', 'register', TARGET),
      (e: Error) => e instanceof NotSupportedError && e.message === 'changing call forwarding is not supported on this line (Quectel EC600N (quectel-asr))',
    );
    // Enabling a rule that was never registered: the network says no (operation not allowed).
    await assert.rejects(h.line.forwarding.setRule('busy', 'enable'), /refused it \(\+CME ERROR: 3\)/);
  });

  for (const sim of ['ec600n', 'ec200u', 'ec25', 'generic']) {
    it(`diverts a ringing call: AT+CTFR, then it ends redirected, by local (${sim})`, async () => {
      h = await startLine(sim);
      h.modem().incomingCall('5550100');
      const inc = await h.next('incoming');
      const { call, to } = await h.line.forwarding.divert(inc.call, '+49 30 123');
      assert.equal(to, TARGET);
      assert.equal(call.id, inc.call?.id);
      assert.deepEqual(forwardingCommands(h), [`AT+CTFR="${TARGET}",145`]);
      const end = await h.next('ended');
      assert.equal(end.call?.id, inc.call?.id);
      assert.equal(end.payload.cause, 'redirected');
      assert.equal(end.payload.by, 'local');
      assert.equal(end.payload.text, `diverted to ${TARGET}`);
      assert.deepEqual(feature(h).diversions, [{ idx: 1, number: TARGET, type: 145 }]);
      assert.deepEqual(h.modem().calls, []);
    });
  }

  it('keeps the divert as the end when the module also prints NO CARRIER (as some do)', async () => {
    h = await startLine('generic');
    const modem = h.modem();
    modem.on('call-changed', (c: { state: string }) => c.state === 'ended' && modem.injectLine('NO CARRIER'));
    modem.incomingCall('5550100');
    const inc = await h.next('incoming');
    await h.line.forwarding.divert(inc.call, '5551234');
    const end = await h.next('ended');
    assert.equal(end.payload.cause, 'redirected');
    assert.equal(end.payload.by, 'local');
  });

  it('leaves the call ringing when the network refuses the divert, and a later end is the caller\'s', async () => {
    h = await startLine('ec600n');
    h.modem().incomingCall('5550100');
    const inc = await h.next('incoming');
    feature(h).refuseNext(3);
    await assert.rejects(h.line.forwarding.divert(inc.call, '5551234'), /diverting the call failed: .*\+CME ERROR: 3/);
    assert.equal(h.line.activeCalls()[0].state, CallState.Incoming);
    h.modem().remoteCancel();
    const end = await h.next('ended');
    assert.equal(end.payload.by, 'remote', 'not the withdrawn "redirected"');
    assert.notEqual(end.payload.cause, 'redirected');
  });

  it('diverts only a ringing call', async () => {
    h = await startLine('ec600n');
    const r = await h.line.dialAndWait('5551234');
    await assert.rejects(h.line.forwarding.divert(r.call.id, '5550100'), CallStateError);
    await assert.rejects(h.line.forwarding.divert(undefined, '5550100'), /no call to divert/);
    assert.deepEqual(forwardingCommands(h), []);
  });

  it('explicit call transfer: AT+CHLD=4 joins the held and the active call, both end transferred', async () => {
    h = await startLine('ec600n');
    h.modem().incomingCall('5550100');
    const inc = await h.next('incoming');
    await h.line.answer(inc.call);
    await h.next('answered');
    const consult = await h.line.dialAndWait('5551234'); // the modem holds the first call
    assert.equal(consult.answered, true);
    await h.next('held', (e) => e.call?.id === inc.call?.id);
    const { call, to, other } = await h.line.forwarding.transferToCall(inc.call, consult.call.id);
    assert.equal(call.id, inc.call?.id);
    assert.equal(other?.id, consult.call.id);
    assert.equal(to, '5551234');
    assert.deepEqual(forwardingCommands(h), ['AT+CHLD=4']);
    const ends = [await h.next('ended'), await h.next('ended')];
    assert.deepEqual(ends.map((e) => e.call?.id).sort(), [inc.call?.id, consult.call.id].sort());
    for (const e of ends) {
      assert.equal(e.payload.cause, 'transferred');
      assert.equal(e.payload.by, 'local');
    }
    assert.equal(ends.find((e) => e.call?.id === inc.call?.id)?.payload.text, 'transferred to 5551234');
    assert.deepEqual(feature(h).transfers, [{ held: 1, other: 2 }]);
    assert.deepEqual(h.modem().calls, []);
    // Reported on the call transferred, as an attended transfer to the other call.
    assert.deepEqual(reports(h, inc.call?.id), { steps: ['started', 'succeeded normal'], evidence: [undefined, 'AT+CHLD=4 → OK'] });
    const started = h.events.find((e) => e.topic === 'transfer');
    assert.deepEqual([started?.payload.method, started?.payload.role, started?.payload.to, started?.payload.target], ['attended', 'transferor', '5551234', consult.call.id]);
  });

  it('refuses an explicit transfer that AT+CHLD=4 could not do, before sending it', async () => {
    h = await startLine('ec600n');
    const a = await h.line.dialAndWait('5551234');
    await assert.rejects(h.line.forwarding.transferToCall(a.call.id, a.call.id), /cannot be transferred to itself/);
    h.modem().incomingCall('5550100'); // waiting, not held
    const waiting = await h.next('waiting');
    await assert.rejects(h.line.forwarding.transferToCall(a.call.id, waiting.call), CallStateError);
    await assert.rejects(h.line.forwarding.transferToCall(a.call.id, 'no-such-call'), /not in progress/);
    assert.deepEqual(forwardingCommands(h), []);
    assert.deepEqual(transferSteps(h), [], 'nothing started: no transfer events');
  });

  it('keeps both calls when the network refuses the transfer', async () => {
    h = await startLine('ec25');
    const a = await h.line.dialAndWait('5551234');
    const b = await h.line.dialAndWait('5555678');
    await h.next('held', (e) => e.call?.id === a.call.id);
    feature(h).refuseNext(3);
    await assert.rejects(h.line.forwarding.transferToCall(b.call.id, a.call.id), /transferring the call failed/);
    assert.deepEqual(reports(h, b.call.id), { steps: ['started', 'failed failed'], evidence: [undefined, 'AT+CHLD=4 → +CME ERROR: 3'] });
    h.modem().remoteHangup(2);
    const end = await h.next('ended');
    assert.equal(end.call?.id, b.call.id);
    assert.equal(end.payload.by, 'remote');
    assert.equal(end.payload.cause, 'normal');
    assert.equal(a.call.state, CallState.Held);
  });

  it('blind transfer: calls the number (the call goes on hold), joins the two once it answers', async () => {
    h = await startLine('ec200u');
    h.modem().incomingCall('5550100');
    const inc = await h.next('incoming');
    await h.line.answer(inc.call);
    await h.next('answered');
    const { call, to, other } = await h.line.forwarding.transfer(inc.call, '5551234');
    assert.equal(call.id, inc.call?.id);
    assert.equal(to, '5551234');
    assert.deepEqual(forwardingCommands(h), ['AT+CHLD=4']);
    assert.ok(h.modem().commands.includes('ATD5551234;'));
    await h.next('ended', (e) => e.call?.id === inc.call?.id);
    await h.next('ended', (e) => e.call?.id === other?.id);
    assert.deepEqual(reports(h, inc.call?.id).steps, ['started', 'progress', 'progress', 'succeeded normal']);
    const texts = h.events.filter((e) => e.topic === 'transfer').map((e) => e.payload.text);
    assert.match(String(texts[1]), /^5551234 is ringing/);
    assert.match(String(texts[2]), /^5551234 answered/);
    const seq = h.events.filter((e) => e.call && e.topic !== 'transfer').map((e) => `${e.call?.id === inc.call?.id ? 'caller' : 'target'} ${e.topic}${e.topic === 'ended' ? ` ${e.payload.cause}` : ''}`);
    assert.deepEqual(seq.slice(0, -2), ['caller incoming', 'caller answered', 'target dialing', 'caller held', 'target ringing', 'target answered']);
    // The modem releases both at once; their order is the modem's.
    assert.deepEqual(seq.slice(-2).sort(), ['caller ended transferred', 'target ended transferred']);
  });

  it('blind transfer to a busy number: nothing is transferred, and the call is taken off hold', async () => {
    h = await startLine('ec600n');
    const a = await h.line.dialAndWait('5551234');
    await assert.rejects(h.line.forwarding.transfer(a.call.id, '555486'), (e: Error) => {
      assert.ok(e instanceof CommandFailedError);
      assert.match(e.message, /^the transfer to 555486 failed: 555486 did not answer \(busy\); call .* was taken off hold$/);
      return true;
    });
    assert.deepEqual(forwardingCommands(h), []);
    await h.next('resumed', (e) => e.call?.id === a.call.id);
    assert.equal(a.call.state, CallState.Active);
    const { steps, evidence } = reports(h, a.call.id);
    assert.deepEqual([steps[0], steps.at(-1), evidence.at(-1)], ['started', 'failed target-busy', 'BUSY']);
  });

  // How the consultation call ended → the transfer's cause (the emulator's number plan: 603 rejects, 408 rings on).
  for (const [number, ringTimeout, cause] of [
    ['555603', undefined, 'target-rejected'],
    ['555408', 1, 'timeout'],
  ] as const) {
    it(`blind transfer to ${number}: fails with cause ${cause}, the call taken off hold`, async () => {
      h = await startLine('ec600n');
      const a = await h.line.dialAndWait('5551234');
      await assert.rejects(h.line.forwarding.transfer(a.call.id, number, { ringTimeout }), CommandFailedError);
      assert.deepEqual(forwardingCommands(h), []);
      assert.equal(reports(h, a.call.id).steps.at(-1), `failed ${cause}`);
      await h.next('resumed', (e) => e.call?.id === a.call.id);
    });
  }

  it('blind transfer: our party hangs up while the number rings: cause hangup, the number is hung up', async () => {
    h = await startLine('ec600n');
    const a = await h.line.dialAndWait('5551234');
    h.modem().setDialBehaviour('ring', '5559999');
    const transfer = h.line.forwarding.transfer(a.call.id, '5559999');
    const ringing = await h.next('ringing', (e) => e.call?.id !== a.call.id);
    h.modem().remoteHangup(1);
    await assert.rejects(transfer, (e: Error) => e instanceof CallStateError && /ended \(normal\) while 5559999 was being called/.test(e.message));
    assert.deepEqual(reports(h, a.call.id).steps, ['started', 'progress', 'failed hangup']);
    const consultEnd = await h.next('ended', (e) => e.call?.id === ringing.call?.id);
    assert.deepEqual([consultEnd.payload.cause, consultEnd.payload.by], ['cancelled', 'local']);
    assert.deepEqual(forwardingCommands(h), []);
  });

  it('blind transfer: the number answers and hangs up before the calls are joined: cause target-hangup', async () => {
    const line = await startLine('ec600n');
    h = line;
    const a = await line.line.dialAndWait('5551234');
    // The number hangs up the moment it answered, before the line's AT+CHLD=4 reaches the module (the
    // line then refuses to join, or the module answers +CME ERROR: 3: either way the target is gone).
    line.line.on('event', (e) => {
      if (e.topic === 'answered' && e.call?.id !== a.call.id) line.modem().remoteHangup(2);
    });
    await assert.rejects(line.line.forwarding.transfer(a.call.id, '5557777'), (e: Error) => e instanceof CallStateError || e instanceof CommandFailedError);
    assert.equal(reports(h, a.call.id).steps.at(-1), 'failed target-hangup');
    assert.notEqual(a.call.state, CallState.Ended);
  });

  it('transfers only a connected call', async () => {
    h = await startLine('ec600n');
    h.modem().incomingCall('5550100');
    const inc = await h.next('incoming');
    await assert.rejects(h.line.forwarding.transfer(inc.call, '5551234'), CallStateError);
    await assert.rejects(h.line.forwarding.transfer(undefined, '5551234'), /no call to transfer/);
    assert.ok(!h.modem().commands.some((c) => c.startsWith('ATD')));
  });
});

describe('forwarding on a line whose backend cannot', () => {
  /** A ready backend with no forwarding capability (as the SIP backend before it has one). */
  function lineWithout(): VoiceLine {
    const backend = Object.assign(new EventEmitter(), {
      kind: 'sip' as const,
      description: 'sip:alice@pbx.example',
      ready: true,
      start: async () => undefined,
      stop: async () => undefined,
      dial: async () => assert.fail('not dialled'),
      answer: async () => undefined,
      hangup: async () => undefined,
      calls: () => [] as Call[],
    }) as unknown as Backend;
    const line = new VoiceLine({ id: 'S', backend: 'sip' }, { backendFactory: () => backend });
    line.acquire('test');
    return line;
  }

  it('says so, naming the line, and checks the input first', async () => {
    const line = lineWithout();
    await assert.rejects(
      line.forwarding.setRule('busy', 'query'),
      (e: Error) => e instanceof NotSupportedError && e.message === 'call forwarding is not supported on this line (sip:alice@pbx.example)',
    );
    await assert.rejects(line.forwarding.setRule('busy', 'register', 'x'), InvalidInputError);
    await line.stop();
  });
});
