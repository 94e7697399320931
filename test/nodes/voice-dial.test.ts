import assert from 'node:assert/strict';
import { Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lastStatus, lineNode, lineOf, nextError, sink, sleep, voiceNode, waitFor, waitReady } from './flow-helpers';

/** A line, a dial node (outputs → OK and NO), and an events node (→ EV) to watch the calls. */
function dialFlow(dialProps: Record<string, unknown> = {}) {
  return [
    lineNode('L'),
    voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '', ringTimeout: 30, ...dialProps }),
    voiceNode('E', 'voice-events', 'L', [['EV']], { events: ['dialing', 'ended'] }),
    sink('OK'),
    sink('NO'),
    sink('EV'),
  ];
}

describe('voice-dial', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('sends an answered call on output 1, keeping the rest of the message', async function () {
    await helper.load(NODES, dialFlow());
    const answered = new Inbox('OK');
    const notAnswered = new Inbox('NO');
    await waitReady('L');
    getNode('D').receive({ payload: '555 1234', keep: 'me', topic: 'x' });
    await waitFor('status ringing', () => lastStatus('D')?.text === 'ringing');
    const msg = await answered.next('answered');
    assert.equal(msg.topic, 'answered');
    assert.equal(msg.keep, 'me');
    assert.equal(msg.call.direction, 'outbound');
    assert.equal(msg.call.state, 'active');
    assert.equal(msg.call.remote.number, '5551234');
    assert.ok(msg.call.answeredAt);
    assert.equal(msg.payload.state, 'active');
    assert.equal(typeof msg.payload.reason, 'string');
    assert.deepEqual(lastStatus('D'), { fill: 'green', shape: 'ring', text: 'in call' });
    assert.equal(notAnswered.messages.length, 0);
    assert.deepEqual(errorsOf('D'), []);
  });

  it('sends a busy call on output 2 with the cause and the modem evidence', async function () {
    await helper.load(NODES, dialFlow());
    const answered = new Inbox('OK');
    const notAnswered = new Inbox('NO');
    await waitReady('L');
    getNode('D').receive({ payload: { number: '555486' } });
    const msg = await notAnswered.next('not answered');
    assert.equal(msg.topic, 'ended');
    assert.equal(msg.payload.cause, 'busy');
    assert.equal(msg.payload.by, 'remote');
    assert.ok(msg.payload.finalResult || msg.payload.q850 !== undefined || msg.payload.ceer, 'raw evidence is kept');
    assert.equal(msg.call.state, 'ended');
    assert.equal(msg.call.cause, 'busy');
    assert.equal(answered.messages.length, 0);
    await waitFor('status ready', () => lastStatus('D')?.text === 'ready');
  });

  it('gives up with cause no-answer after msg.ringTimeout', async function () {
    await helper.load(NODES, dialFlow({ number: '555408', ringTimeout: 60 }));
    const notAnswered = new Inbox('NO');
    await waitReady('L');
    const started = Date.now();
    getNode('D').receive({ payload: 'ignored: the node has a number', ringTimeout: 1 });
    const msg = await notAnswered.next('not answered');
    assert.equal(msg.payload.cause, 'no-answer');
    assert.equal(msg.payload.by, 'local');
    assert.equal(msg.call.remote.number, '555408');
    assert.ok(Date.now() - started < 4000, 'the 1 s timeout of the message won over the emulator\'s 5 s');
  });

  it('refuses an invalid number with the core\'s message, and nothing reaches the modem', async function () {
    await helper.load(NODES, dialFlow());
    const answered = new Inbox('OK');
    const notAnswered = new Inbox('NO');
    const events = new Inbox('EV');
    await waitReady('L');
    getNode('D').receive({ payload: '123;+CFUN=0' });
    const err = await nextError('D');
    assert.match(String(err), /^the phone number "123;\+CFUN=0" is not valid/);
    assert.equal((err as Error & { code?: string }).code, 'EINVAL');
    await sleep(200);
    const modem = emulatorOf('L');
    assert.deepEqual(modem.commands.filter((c) => /^ATD/i.test(c) || /CFUN=0/i.test(c)), []);
    assert.equal(answered.messages.length + notAnswered.messages.length + events.messages.length, 0);
  });

  it('refuses a default inject\'s timestamp (a JavaScript number of 13 digits) and a number of more than 15 digits; nothing is dialled', async function () {
    await helper.load(NODES, dialFlow());
    await waitReady('L');
    const stamp = Date.now();
    getNode('D').receive({ payload: stamp });
    const err = await nextError('D');
    assert.match(String(err), new RegExp(`^the phone number is the number ${stamp}, which looks like a timestamp .*send the number as a string`));
    assert.equal((err as Error & { code?: string }).code, 'EINVAL');
    getNode('D').receive({ payload: '+49 1234 5678 9012 34' }); // 16 digits
    await waitFor('a second error', () => errorsOf('D').length === 2);
    assert.match(String(errorsOf('D')[1]), /at most 15 digits/);
    await sleep(200);
    assert.deepEqual(emulatorOf('L').commands.filter((c) => /^ATD/i.test(c)), []);
  });

  it('the number set in the node wins over msg.payload (a timestamp from an inject is then ignored)', async function () {
    await helper.load(NODES, dialFlow({ number: '5551234' }));
    const answered = new Inbox('OK');
    await waitReady('L');
    getNode('D').receive({ payload: Date.now() });
    const msg = await answered.next('answered');
    assert.equal(msg.call.remote.number, '5551234');
  });

  it('refuses a caller ID, caller name or SIP headers on an AT line (ENOTSUP, saying why), and dials nothing', async function () {
    await helper.load(NODES, dialFlow());
    await waitReady('L');
    getNode('D').receive({ payload: '5551234', callerId: '4930123456' });
    const err = await nextError('D');
    assert.match(String(err), /^a caller ID cannot be set on this line \(.*\): a mobile network shows the SIM's own number; leave them empty on an AT line$/);
    assert.equal((err as Error & { code?: string }).code, 'ENOTSUP');
    getNode('D').receive({ payload: '5551234', sipHeaders: { 'X-Ticket': '1' } });
    await waitFor('a second error', () => errorsOf('D').length === 2);
    assert.match(String(errorsOf('D')[1]), /^SIP headers cannot be set on this line/);
    await sleep(200);
    assert.deepEqual(emulatorOf('L').commands.filter((c) => /^ATD/i.test(c)), []);
  });

  it('refuses an invalid caller ID, caller name or header, and a SIP address on an AT line, with the core\'s message (EINVAL), before anything else', async function () {
    await helper.load(NODES, dialFlow());
    await waitReady('L');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ callerId: '1001@evil' }, /^the caller ID "1001@evil" is not valid/],
      [{ callerName: 'Desk"\r\nX: 1' }, /^the caller name "Desk"\\r\\nX: 1" is not valid: at most 100 characters, no quotes/],
      [{ sipHeaders: { Via: 'SIP/2.0/UDP evil' } }, /^the header "Via" cannot be set from a flow: the line writes it itself$/],
      [{ sipHeaders: { 'X-A': 'a\nb' } }, /^the value of header "X-A" contains a line break/],
      [{ sipHeaders: 'X-A: 1' }, /^the SIP headers must be an object of header names and values/],
      // Only the line writes Replaces / Referred-By (when it follows a REFER): a flow taking over a call is refused.
      [{ sipHeaders: { Replaces: 'abc@host;to-tag=1;from-tag=2' } }, /^the header "Replaces" cannot be set from a flow: the line writes it itself$/],
      [{ sipHeaders: { 'Referred-By': '<sip:boss@pbx>' } }, /^the header "Referred-By" cannot be set from a flow/],
      // A SIP address is a valid target, but not on an AT line.
      [{ payload: 'sip:alice@pbx.example.com' }, /^the phone number is a SIP address, which only a SIP line can use: give a phone number/],
      [{ payload: 'sip:alice@pbx.example.com\r\nX: 1' }, /^the phone number "sip:alice@pbx\.example\.com\\r\\nX: 1" is not a valid SIP address/],
    ];
    for (const [i, [props, message]] of cases.entries()) {
      getNode('D').receive({ payload: '5551234', ...props });
      await waitFor(`error ${i + 1}`, () => errorsOf('D').length === i + 1);
      const err = errorsOf('D')[i] as Error & { code?: string };
      assert.match(String(err), message);
      assert.equal(err.code, 'EINVAL');
    }
    assert.deepEqual(emulatorOf('L').commands.filter((c) => /^ATD/i.test(c)), []);
  });

  it('dials on an AT line when the caller ID and name are left empty in the node', async function () {
    await helper.load(NODES, dialFlow({ callerId: '', callerName: '' }));
    const answered = new Inbox('OK');
    await waitReady('L');
    getNode('D').receive({ payload: '5551234' });
    await answered.next('answered');
    assert.deepEqual(errorsOf('D'), []);
  });

  it('reads the number where its typed input says: another msg property, global context, an environment variable', async function () {
    process.env.VOICE_TEST_NUMBER = '5551234';
    try {
      await helper.load(NODES, [
        lineNode('L'),
        voiceNode('M', 'voice-dial', 'L', [['OK'], ['NO']], { number: 'lead.phone', numberType: 'msg', ringTimeout: 30 }),
        voiceNode('G', 'voice-dial', 'L', [['OK'], ['NO']], { number: 'callee', numberType: 'global', ringTimeout: 30 }),
        voiceNode('E', 'voice-dial', 'L', [['OK'], ['NO']], { number: 'VOICE_TEST_NUMBER', numberType: 'env', ringTimeout: 30 }),
        sink('OK'),
        sink('NO'),
      ]);
      const ok = new Inbox('OK');
      await waitReady('L');
      getNode('M').receive({ payload: Date.now(), lead: { phone: '5551234' } });
      await waitFor('M answered', () => ok.messages.length === 1);
      await lineOf('L').hangup(ok.messages[0].call.id);
      (getNode('G') as unknown as { context(): { global: { set(k: string, v: unknown): void } } }).context().global.set('callee', '5551234');
      getNode('G').receive({});
      await waitFor('G answered', () => ok.messages.length === 2);
      await lineOf('L').hangup(ok.messages[1].call.id);
      getNode('E').receive({});
      await waitFor('E answered', () => ok.messages.length === 3);
      assert.deepEqual(ok.messages.map((m) => m.call.remote.number), ['5551234', '5551234', '5551234']);
      getNode('M').receive({ payload: '5551234' });
      assert.equal(String(await nextError('M')), 'no number to dial: msg.lead.phone is empty');
    } finally {
      delete process.env.VOICE_TEST_NUMBER;
    }
  });

  it('fails a message without a number', async function () {
    await helper.load(NODES, dialFlow());
    await waitReady('L');
    getNode('D').receive({ payload: true });
    assert.match(String(await nextError('D')), /^no number to dial/);
  });

  it('fails a message while it has no line', async function () {
    await helper.load(NODES, [voiceNode('D', 'voice-dial', '', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30 }), sink('OK'), sink('NO')]);
    assert.deepEqual(lastStatus('D'), { fill: 'red', shape: 'ring', text: 'error: no line configured' });
    getNode('D').receive({});
    assert.match(String(await nextError('D')), /^no line configured/);
  });
});
