import assert from 'node:assert/strict';
import { HANGUP_CAUSES } from '../../lib/call/cause';
import { causeFromSipCode, endFromRequest, endFromResponse, q850ForSipCode, q850FromReason, rejectCodeFor, sipCauseFromReason } from '../../lib/sip/sip-cause';
import { SipBackend } from '../../lib/sip/sip-backend';
import { VoiceLine } from '../../lib/line/voice-line';

describe('SIP cause mapping (design §5)', function () {
  const table: Array<[number, string]> = [
    [486, 'busy'], [600, 'busy'], [603, 'rejected'], [480, 'unavailable'], [408, 'timeout'], [487, 'cancelled'],
    [404, 'not-found'], [604, 'not-found'], [484, 'not-found'], [403, 'forbidden'], [401, 'forbidden'], [407, 'forbidden'],
    [488, 'incompatible'], [606, 'incompatible'], [415, 'incompatible'], [500, 'congestion'], [502, 'out-of-order'], [410, 'changed-number'],
    [503, 'congestion'], [504, 'congestion'], [501, 'network-error'], [300, 'redirected'], [301, 'redirected'],
    [302, 'redirected'], [380, 'redirected'], [400, 'failed'], [420, 'failed'],
  ];
  for (const [code, cause] of table) {
    it(`${code} → ${cause}`, function () {
      assert.equal(causeFromSipCode(code), cause);
    });
  }

  it('480 after our ring timeout fired is no-answer', function () {
    assert.equal(causeFromSipCode(480, { ringTimeoutFired: true }), 'no-answer');
  });

  it('sip.js\'s own 503 (transport failure, no Via) is network-error; its 408 a timeout', function () {
    assert.equal(causeFromSipCode(503, { synthetic: true }), 'network-error');
    const end = endFromResponse({ statusCode: 408, reasonPhrase: 'Request Timeout', synthetic: true }, 'remote');
    assert.deepEqual([end.cause, end.sipCode, end.text], ['timeout', 408, 'no answer from the other side (408 timeout)']);
  });

  it('keeps the raw code, the Reason header as received and its Q.850 value', function () {
    const end = endFromResponse({ statusCode: 404, reasonPhrase: 'Not Found', reason: 'Q.850;cause=1;text="Unallocated"' }, 'remote');
    assert.deepEqual(end, { cause: 'not-found', by: 'remote', sipCode: 404, text: 'the other side answered 404 Not Found', reason: 'Q.850;cause=1;text="Unallocated"', q850: 1 });
  });

  it('a Q.850 Reason refines only a code that says nothing precise (5xx, 403, unknown)', function () {
    assert.equal(endFromResponse({ statusCode: 500, reason: 'Q.850;cause=17' }, 'remote').cause, 'busy');
    assert.equal(endFromResponse({ statusCode: 499, reason: 'Q.850;cause=21' }, 'remote').cause, 'rejected');
    assert.equal(endFromResponse({ statusCode: 486, reason: 'Q.850;cause=21' }, 'remote').cause, 'busy');
    // design §3.1: 503 with Q.850 34 is no-circuit, 403 with 54 / 55 barred; without a Reason, what the code says.
    assert.equal(endFromResponse({ statusCode: 503, reason: 'Q.850;cause=34;text="No circuit/channel available"' }, 'remote').cause, 'no-circuit');
    assert.equal(endFromResponse({ statusCode: 403, reason: 'Q.850;cause=54' }, 'remote').cause, 'barred');
    assert.equal(endFromResponse({ statusCode: 403, reason: 'Q.850;cause=55' }, 'remote').cause, 'barred');
    assert.equal(endFromResponse({ statusCode: 403 }, 'remote').cause, 'forbidden');
    assert.equal(endFromResponse({ statusCode: 503 }, 'remote').cause, 'congestion');
  });

  it('q850FromReason: Q.850 among several entries, other protocols ignored, nothing is undefined', function () {
    assert.equal(q850FromReason('SIP;cause=200;text="Call completed elsewhere", Q.850;cause=26'), 26);
    assert.equal(q850FromReason('q.850 ; cause = 16'), 16);
    assert.equal(q850FromReason('SIP;cause=487'), undefined);
    assert.equal(q850FromReason(undefined), undefined);
    assert.equal(q850FromReason('garbage;;;,'), undefined);
  });

  it('BYE / CANCEL from the peer: normal / cancelled by remote, Reason kept', function () {
    assert.deepEqual(endFromRequest('BYE', 'Q.850;cause=16', 'normal'), { cause: 'normal', by: 'remote', text: 'the other side hung up', reason: 'Q.850;cause=16', q850: 16 });
    assert.deepEqual(endFromRequest('CANCEL', undefined, 'cancelled'), { cause: 'cancelled', by: 'remote', text: 'the caller gave up before answer' });
  });

  it('a BYE\'s Reason says why: a SIP cause as its code would (Asterisk\'s `SIP ;cause=421` is failed, not normal), a Q.850 cause as the contract maps it; kept raw', function () {
    const asterisk = endFromRequest('BYE', 'SIP ;cause=421 ;text="Extension Required"', 'normal');
    assert.deepEqual(asterisk, { cause: 'failed', by: 'remote', text: 'the other side hung up: SIP 421 (Extension Required)', reason: 'SIP ;cause=421 ;text="Extension Required"' });
    assert.equal(endFromRequest('BYE', 'SIP;cause=410', 'normal').cause, 'changed-number');
    assert.deepEqual(endFromRequest('BYE', 'Q.850;cause=27;text="Destination out of order"', 'normal'), {
      cause: 'out-of-order', by: 'remote', text: 'the other side hung up: Q.850 cause 27 (Destination out of order)', reason: 'Q.850;cause=27;text="Destination out of order"', q850: 27,
    });
    // Both: the Q.850 one, as RFC 3326 lets a message carry one of each protocol.
    assert.equal(endFromRequest('BYE', 'SIP;cause=503, Q.850;cause=34', 'normal').cause, 'no-circuit');
    // A Q.850 value the contract does not know leaves the SIP one (or the fallback) to speak.
    assert.equal(endFromRequest('BYE', 'Q.850;cause=99, SIP;cause=480', 'normal').cause, 'unavailable');
    assert.equal(endFromRequest('CANCEL', 'SIP;cause=200;text="Call completed elsewhere"', 'cancelled').text, 'the call was answered elsewhere');
    assert.equal(endFromRequest('CANCEL', 'SIP;cause=200;text="Call completed elsewhere"', 'cancelled').cause, 'cancelled');
    // Normal clearing on a CANCEL (what our own CANCEL carries) leaves it cancelled.
    assert.equal(endFromRequest('CANCEL', 'Q.850;cause=16;text="Normal call clearing"', 'cancelled').cause, 'cancelled');
    assert.equal(sipCauseFromReason('Q.850;cause=16, SIP ; cause = 487'), 487);
    assert.equal(sipCauseFromReason('Q.850;cause=16'), undefined);
  });

  it('a refusal with a code the flow gave signals its Q.850 cause (RFC 3398)', function () {
    assert.deepEqual([404, 410, 480, 486, 503, 603, 606, 499, 599].map(q850ForSipCode), [1, 22, 18, 17, 41, 21, 58, 31, 41]);
  });

  it('rejecting an incoming call: busy 486, unavailable 480, rejected and normal 603, changed-number 410, out-of-order 502, no-circuit 503, barred 403', function () {
    assert.deepEqual(HANGUP_CAUSES.map((s) => rejectCodeFor(s)), [603, 486, 603, 480, 410, 502, 503, 403]);
  });
});

describe('SipBackend settings', function () {
  it('a bad server or a missing user name is refused when the line is built (the line shows why)', function () {
    assert.throws(() => new SipBackend({ lineId: 'l', server: '', username: '1001' }), /not available without a server/);
    assert.throws(() => new SipBackend({ lineId: 'l', server: 'pbx:x', username: '1001' }), /server/);
    assert.throws(() => new SipBackend({ lineId: 'l', server: 'pbx:5060', username: '' }), /not available without a user name/);
    assert.throws(() => new SipBackend({ lineId: 'l', server: 'pbx:5060', username: '1001', maxCalls: -1 }), /maximum number of calls/);
  });

  it('VoiceLine builds a SIP backend for backend "sip" and shows a bad setting as an error status', async function () {
    const line = new VoiceLine({ id: 'l1', backend: 'sip', server: ':::bad', username: '1001' });
    await line.start();
    assert.equal(line.status.state, 'error');
    assert.match(line.status.text, /server/);
    await line.stop();
  });

  it('a setting the user agent or the RTP range refuses is an error status, never a rejected start()', async function () {
    for (const [extra, shown] of [
      [{ username: 'bad user' }, /username/],
      [{ username: '1001', rtpPortMin: 80 }, /rtpPortMin/],
    ] as const) {
      const line = new VoiceLine({ id: 'l2', backend: 'sip', server: '127.0.0.1:5999', localAddress: '127.0.0.1', register: false, ...extra });
      await line.start();
      assert.equal(line.status.state, 'error');
      assert.match(line.status.text, shown);
      await line.stop();
    }
  });

  it('the description names the account, never the password', function () {
    const b = new SipBackend({ lineId: 'l', server: 'pbx.example.com:5060', username: '1001', password: 's3cret-pw', domain: 'example.com' });
    assert.equal(b.description, 'sip:1001@example.com');
    assert.equal(b.kind, 'sip');
    assert.equal(b.ready, false);
  });
});
