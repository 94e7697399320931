/**
 * DTMF modes on SIP calls, end to end: two VoiceLines with the SIP backend in trunk mode calling each
 * other on 127.0.0.1 (as test/integration/sip-loopback.test.ts), each line with its own `dtmfMode`.
 * What the receiving side reports (`source`: info / inband / rfc4733) proves which way the keys
 * travelled; gathers (lib/line/gather.ts, unchanged) collect them in every mode.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Session } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { CallStateError } from '../../lib/errors';
import { VoiceLine } from '../../lib/line/voice-line';
import type { SipDtmfMode } from '../../lib/sip/rtp-description-handler';
import { RtpDescriptionHandler } from '../../lib/sip/rtp-description-handler';
import { SipBackend } from '../../lib/sip/sip-backend';
import type { SipCallContext } from '../../lib/sip/sip-call-context';
import { memoryLog } from '../helpers/at-harness';
import { EventLog } from '../helpers/event-log';
import { pickPorts, waitFor } from '../helpers/sip-peers';
import { sipLine } from '../helpers/sip-line';

const WAIT_MS = 20_000;
/** Gathers end by their finish key or max digits here, never by a timer (no timing is asserted). */
const NO_TIMEOUTS = { firstDigitTimeoutMs: 0, interDigitTimeoutMs: 0 };

/** The sip.js session of a call (test-only peek into the backend, to send a hand-made INFO). */
function sessionOf(line: VoiceLine, call: Call): Session {
  const ctx = (line.backend as unknown as { ctx: SipCallContext }).ctx;
  const session = ctx.sessionOf(call);
  assert.ok(session, 'the call has a sip.js session');
  return session;
}

/** Sends an INFO with any body in the call's dialog; resolves with the final status code and the response's headers. */
function rawInfo(session: Session, contentType?: string, content?: string): Promise<{ code: number; accept?: string }> {
  return new Promise((resolve, reject) => {
    const done = (r: IncomingResponse): void => resolve({ code: r.message.statusCode ?? 0, accept: r.message.getHeader('accept') });
    const requestOptions = contentType === undefined ? {} : { body: { contentDisposition: 'render', contentType, content: content ?? '' } };
    session.info({ requestDelegate: { onAccept: done, onReject: done }, requestOptions }).catch(reject);
  });
}

describe('SIP DTMF modes: two voice lines on 127.0.0.1, SIP INFO / in-band / RFC 4733 (integration)', function () {
  this.timeout(90_000);
  const log = memoryLog();
  let lines: VoiceLine[] = [];

  afterEach(async function () {
    // eslint-disable-next-line no-console
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-80).join('\n'));
    log.lines.length = 0;
    await Promise.all(lines.map((l) => l.stop()));
    lines = [];
  });

  /** Line A (1001, mode `modeA`) calls line B (2002, mode `modeB`), B answers: both connected. */
  async function connected(modeA: SipDtmfMode, modeB: SipDtmfMode) {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 300);
    const a = sipLine('line-a', '1001', base, base + 1, rtp, log, { dtmfMode: modeA });
    const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, { dtmfMode: modeB });
    lines = [a, b];
    const evA = new EventLog(a, WAIT_MS);
    const evB = new EventLog(b, WAIT_MS);
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
    const callA = await a.dial('2002');
    const incoming = await evB.next('incoming');
    const callB = b.activeCalls().find((c) => c.id === incoming.call?.id) as Call;
    await b.answer(callB.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
    return { a, b, evA, evB, callA, callB };
  }

  it('SIP INFO both ways: A sends 12#9 as INFO, B\'s gather collects 12; B sends 7*0# as INFO, A\'s gather collects 7*0; every key reported once with source info', async function () {
    const { a, b, evA, evB, callA, callB } = await connected('info', 'info');
    const gatherB = await b.dtmf.collect(callB.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await a.dtmf.send(callA.id, '12#9', { durationMs: 100 });
    assert.deepEqual(await gatherB.result, { digits: '12', reason: 'finish-key' });
    assert.deepEqual(await evB.dtmf(4), [['1', 'info'], ['2', 'info'], ['#', 'info'], ['9', 'info']]);

    const gatherA = await a.dtmf.collect(callA.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await b.dtmf.send(callB.id, '7*0#', { durationMs: 120 });
    assert.deepEqual(await gatherA.result, { digits: '7*0', reason: 'finish-key' });
    assert.deepEqual(await evA.dtmf(4), [['7', 'info'], ['*', 'info'], ['0', 'info'], ['#', 'info']]);
    // Nothing went through the media: the RTP sessions counted no DTMF.
    assert.equal(a.backend && (a.backend as SipBackend).rtpOf(callA)?.stats().dtmfSent, 0);
    assert.equal(evA.events.filter((e) => e.topic === 'dtmf').length + evB.events.filter((e) => e.topic === 'dtmf').length, 8, 'no key twice');
  });

  it('detection switched off on B: RFC 4733 and INFO keys are not reported and a gather is refused; on again, they are', async function () {
    const { a, b, evB, callA, callB } = await connected('rfc4733', 'rfc4733');
    assert.equal(await b.dtmf.setDetection('false'), false);
    assert.equal((await b.control.settings()).dtmfDetection, false);
    await assert.rejects(b.dtmf.collect(callB.id, { maxDigits: 1, ...NO_TIMEOUTS }), (err: Error) => err instanceof CallStateError && /DTMF detection is switched off on this line/.test(err.message));
    await a.dtmf.send(callA.id, '12', { durationMs: 100 });
    assert.equal((await rawInfo(sessionOf(a, callA), 'application/dtmf-relay', 'Signal=5\r\nDuration=100\r\n')).code, 200, 'INFO still answered 200');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(evB.events.filter((e) => e.topic === 'dtmf').length, 0, 'no key reported while off');
    await b.dtmf.setDetection(true);
    const gather = await b.dtmf.collect(callB.id, { maxDigits: 2, finishKey: null, ...NO_TIMEOUTS });
    await a.dtmf.send(callA.id, '34', { durationMs: 100 });
    assert.deepEqual(await gather.result, { digits: '34', reason: 'max-digits' });
  });

  it('two sends at once in INFO mode go one after the other: the keys never interleave', async function () {
    const { a, b, callA, callB } = await connected('info', 'info');
    const gather = await b.dtmf.collect(callB.id, { maxDigits: 6, finishKey: null, ...NO_TIMEOUTS });
    await Promise.all([a.dtmf.send(callA.id, '123'), a.dtmf.send(callA.id, '456')]);
    assert.deepEqual(await gather.result, { digits: '123456', reason: 'max-digits' });
  });

  it('in-band both ways: A sends 5*0# as tones, B\'s gather collects 5*0; B sends 38# as tones, A collects 38; source inband, each key once', async function () {
    const { a, b, evA, evB, callA, callB } = await connected('inband', 'inband');
    const gatherB = await b.dtmf.collect(callB.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await a.dtmf.send(callA.id, '5*0#', { durationMs: 100 });
    assert.deepEqual(await gatherB.result, { digits: '5*0', reason: 'finish-key' });
    assert.deepEqual(await evB.dtmf(4), [['5', 'inband'], ['*', 'inband'], ['0', 'inband'], ['#', 'inband']]);

    const gatherA = await a.dtmf.collect(callA.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await b.dtmf.send(callB.id, '38#', { durationMs: 150 });
    assert.deepEqual(await gatherA.result, { digits: '38', reason: 'finish-key' });
    assert.deepEqual(await evA.dtmf(3), [['3', 'inband'], ['8', 'inband'], ['#', 'inband']]);
    // The keys went as audio: A's media sent no RFC 4733 events but its tones (dtmfSent counts keys of both kinds).
    const rtpA = (a.backend as SipBackend).rtpOf(callA);
    assert.equal(rtpA?.stats().dtmfSent, 4);
    // Give a late duplicate every chance to show up, then count (a wait, not a timing assertion).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(evB.events.filter((e) => e.topic === 'dtmf').length, 4, 'B: no key twice');
    assert.equal(evA.events.filter((e) => e.topic === 'dtmf').length, 3, 'A: no key twice');
  });

  it('peers choose: an INFO line\'s keys reach an RFC 4733 line as info; the RFC 4733 line\'s keys reach the INFO line as rfc4733; an in-band line hears RFC 4733 keys', async function () {
    const { a, b, evA, evB, callA, callB } = await connected('info', 'rfc4733');
    const negotiated = RtpDescriptionHandler.of(sessionOf(a, callA))?.negotiated;
    assert.equal(typeof negotiated?.telephoneEventPt, 'number', 'telephone-event is offered in INFO mode too');
    const gatherB = await b.dtmf.collect(callB.id, { maxDigits: 3, finishKey: null, ...NO_TIMEOUTS });
    await a.dtmf.send(callA.id, '246');
    assert.deepEqual(await gatherB.result, { digits: '246', reason: 'max-digits' });
    assert.deepEqual(await evB.dtmf(3), [['2', 'info'], ['4', 'info'], ['6', 'info']]);
    const gatherA = await a.dtmf.collect(callA.id, { maxDigits: 2, finishKey: null, ...NO_TIMEOUTS });
    await b.dtmf.send(callB.id, '9A');
    assert.deepEqual(await gatherA.result, { digits: '9A', reason: 'max-digits' });
    assert.deepEqual(await evA.dtmf(2), [['9', 'rfc4733'], ['A', 'rfc4733']]);
    await Promise.all(lines.map((l) => l.stop()));

    const second = await connected('rfc4733', 'inband');
    const gather = await second.b.dtmf.collect(second.callB.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await second.a.dtmf.send(second.callA.id, '31#');
    assert.deepEqual(await gather.result, { digits: '31', reason: 'finish-key' });
    assert.deepEqual(await second.evB.dtmf(3), [['3', 'rfc4733'], ['1', 'rfc4733'], ['#', 'rfc4733']]);
  });

  it('a malformed INFO body is answered 400, another content type 415 (with Accept), an empty INFO 200; the call goes on and keys still arrive', async function () {
    const { a, b, evA, evB, callA, callB } = await connected('info', 'info');
    const session = sessionOf(a, callA);
    assert.deepEqual(await rawInfo(session, 'application/dtmf-relay', 'Signal=X\r\nDuration=100\r\n'), { code: 400, accept: undefined });
    assert.deepEqual(await rawInfo(session, 'application/dtmf-relay', 'Duration=100\r\n'), { code: 400, accept: undefined });
    assert.equal((await rawInfo(session, 'application/dtmf', '55')).code, 400);
    assert.deepEqual(await rawInfo(session, 'application/media_control+xml', '<media_control/>'), { code: 415, accept: 'application/dtmf-relay, application/dtmf' });
    assert.deepEqual(await rawInfo(session), { code: 200, accept: undefined }, 'an INFO without a body (a keep-alive)');
    // application/dtmf with an event number: 11 is #.
    assert.equal((await rawInfo(session, 'application/dtmf', '11')).code, 200);
    assert.deepEqual(await evB.dtmf(1), [['#', 'info']]);
    assert.equal(callA.state, CallState.Active);
    assert.equal(callB.state, CallState.Active);
    const gather = await b.dtmf.collect(callB.id, { maxDigits: 2, finishKey: null, ...NO_TIMEOUTS });
    await a.dtmf.send(callA.id, '80');
    assert.deepEqual(await gather.result, { digits: '80', reason: 'max-digits' });
    assert.equal(evA.topics().includes('ended') || evB.topics().includes('ended'), false, 'the call is still up');
    assert.equal(evB.events.filter((e) => e.topic === 'dtmf').length, 3, 'only the readable keys were reported');
  });

  it('INFO mode refuses what cannot be sent before any INFO leaves: bad digits (InvalidInputError), a call on hold (CallStateError)', async function () {
    const { a, evB, callA } = await connected('info', 'info');
    await assert.rejects(a.dtmf.send(callA.id, '1\r\nX-Evil: 1'), /not valid/);
    await a.control.hold(callA.id);
    await waitFor('held', () => callA.state === CallState.Held, WAIT_MS);
    await assert.rejects(a.dtmf.send(callA.id, '1'), /held/);
    assert.equal(evB.events.filter((e) => e.topic === 'dtmf').length, 0);
  });
});
