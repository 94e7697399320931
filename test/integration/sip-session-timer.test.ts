/**
 * Session timers (RFC 4028) of a SIP line against real peers on 127.0.0.1 (lib/sip/session-timer.ts):
 * SIPp calling us with Session-Expires 90 and refreshing by UPDATE and re-INVITE (and an UPDATE with
 * SDP), SIPp called by us asking us to refresh (by UPDATE at the real 90 s interval, by re-INVITE at a
 * short one), a 422 and its retry, a peer that stops refreshing, and a refresh through Kamailio.
 *
 * Each test asserts what reached the other side through SIPp's own verdict (exit code 0 only when
 * every message it expects came in time and its `check_it` regexps matched: the scenarios in
 * test/fixtures/sipp/ say what they check), and what the line made of it (the timer in force, the
 * call's events and cause).
 *
 * Intervals: RFC 4028 allows no Session-Expires below 90 s, so a refresh of ours comes 45 s into the
 * call. One test waits for that real one (under a 90 s timeout). The others lower the line's Min-SE
 * with the backend option `sessionMinSe` (not a line setting: the editor cannot set it) to 6 s, so
 * that a refresh comes at 3 s and an expiry at 4 s: the same code paths, in seconds.
 */
import assert from 'node:assert/strict';
import type { Call } from '../../lib/call/call';
import type { VoiceLine } from '../../lib/line/voice-line';
import type { SipBackendOptions } from '../../lib/sip/sip-backend';
import type { SipCallFeature } from '../../lib/sip/sip-call-context';
import { SessionTimers } from '../../lib/sip/session-timer';
import { interopHarness } from '../helpers/interop-harness';
import { Kamailio, LOOPBACK, pickPorts, pickSippMediaPort, requirePeer, sippScenario, waitFor } from '../helpers/sip-peers';

/** The short interval of the tests that lower Min-SE (see the file comment). */
const SHORT = 6;
const SHORT_TIMERS: Partial<SipBackendOptions> = { sessionMinSe: SHORT, sessionExpires: SHORT };

/** The line's session timer feature (the backend's registry features are private: a test-only peek). */
function timers(line: VoiceLine): SessionTimers {
  const feature = (line.backend as unknown as { extra: SipCallFeature[] }).extra.find((f) => f instanceof SessionTimers);
  assert.ok(feature instanceof SessionTimers, 'the line has the session timer feature');
  return feature;
}

describe('SIP session timers with SIPp and Kamailio (integration, loopback)', function () {
  this.timeout(60_000);
  const h = interopHarness('session-timer');

  before(function () {
    requirePeer(this, 'sipp');
  });

  /** How many of our refreshes were answered 2xx, from the line's log. */
  function refreshesAnswered(): number {
    return h.log.lines.filter((l) => /session timer \d+ s, we refresh \(our refresh was answered 2\d\d\)/.test(l)).length;
  }

  /** A SIPp UAC calls the line (trunk mode, SIPp its server); the line answers: the call, connected. */
  async function callFromSipp(scenario: string, keys: Record<string, string>, backend?: Partial<SipBackendOptions>) {
    const sippPort = await pickPorts(1);
    const media = await pickSippMediaPort();
    const { line, events, port } = await h.startLine({ server: `${LOOPBACK}:${sippPort}` }, backend ? { backend } : undefined);
    const keyArgs = Object.entries(keys).flatMap(([k, v]) => ['-key', k, v]);
    const uac = await h.startSipp({ scenario: sippScenario(scenario), port: sippPort, remote: `${LOOPBACK}:${port}`, calls: 1, extraArgs: ['-s', '1001', '-mp', String(media), ...keyArgs] });
    const incoming = await events.next('incoming');
    const call = line.activeCalls().find((c) => c.id === incoming.call?.id) as Call;
    await line.answer(call.id);
    await events.next('answered');
    return { line, events, call, uac };
  }

  /** A SIPp UAS the line calls. */
  async function sippUas(scenario: string, keys: Record<string, string> = {}) {
    const media = await pickSippMediaPort();
    const keyArgs = Object.entries(keys).flatMap(([k, v]) => ['-key', k, v]);
    return h.startSipp({ scenario: sippScenario(scenario), calls: 1, extraArgs: ['-mp', String(media), ...keyArgs] });
  }

  it('a PBX with timers required (Require: timer, Session-Expires: 90;refresher=uac) is answered 200 with Session-Expires 90;refresher=uac; its UPDATE, re-INVITE and UPDATE with SDP refreshes are answered 200 with Session-Expires (SIPp exit 0)', async () => {
    const { line, events, call, uac } = await callFromSipp('uac-session-timer.xml', {});
    assert.deepEqual(timers(line).planOf(call), { interval: 90, weRefresh: false }, 'they refresh, every 90 s');
    // The UPDATE with SDP a=sendonly is an offer: our answer put the call on hold by the other side.
    const held = await events.next('held');
    assert.equal(held.payload.heldBy, 'remote');
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-3000));
  });

  it('called by us and asked to refresh (Session-Expires: 90;refresher=uac): our UPDATE refresh reaches SIPp at half the interval, 45 s, before the session would expire (SIPp exit 0)', async function () {
    this.timeout(90_000);
    const uas = await sippUas('uas-refresh-update.xml', { se: '90' });
    const { line, events } = await h.startLine({ server: uas.address });
    const call = await line.dial('2000');
    await events.next('answered');
    const answeredAt = Date.now();
    assert.deepEqual(timers(line).planOf(call), { interval: 90, weRefresh: true });
    await waitFor('our refresh answered', () => refreshesAnswered() >= 1, 60_000);
    const after = (Date.now() - answeredAt) / 1000;
    // Half of 90 s; the session would have expired at 90 - 30 = 60 s (RFC 4028 §10).
    assert.ok(after >= 44 && after < 60, `the refresh came ${after.toFixed(1)} s after the answer`);
    assert.equal(call.state, 'active');
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-3000));
  });

  it('a peer whose Allow has no UPDATE gets re-INVITE refreshes, each within the interval (two of them, SIPp exit 0)', async () => {
    const uas = await sippUas('uas-refresh-reinvite.xml', { se: String(SHORT) });
    const { line, events } = await h.startLine({ server: uas.address }, { backend: SHORT_TIMERS });
    const call = await line.dial('2000');
    await events.next('answered');
    assert.deepEqual(timers(line).planOf(call), { interval: SHORT, weRefresh: true });
    await waitFor('two refreshes answered', () => refreshesAnswered() >= 2, 20_000);
    assert.equal(call.state, 'active', 'the refreshes did not change the call');
    await line.hangup(call.id);
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'local']);
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-3000));
  });

  it('a 422 with Min-SE: 1900 is retried once, same call, CSeq 2, Session-Expires 1900; the call is answered with them as refresher (SIPp exit 0)', async () => {
    const uas = await sippUas('uas-422.xml');
    const { line, events } = await h.startLine({ server: uas.address });
    const call = await line.dial('2000');
    const answered = await events.next('answered');
    assert.equal(answered.call?.id, call.id, 'the same call, not a new one');
    assert.deepEqual(timers(line).planOf(call), { interval: 1900, weRefresh: false });
    assert.deepEqual(
      events.events.filter((e) => e.call && e.topic !== 'dialing').map((e) => e.topic),
      ['answered'],
      'the 422 ended nothing: one call, answered',
    );
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-3000));
  });

  it('their Session-Expires below our Min-SE (60 s, with Supported: timer): 422 with Min-SE: 90 before any ringing, no call reported (SIPp exit 0)', async () => {
    const sippPort = await pickPorts(1);
    const media = await pickSippMediaPort();
    const { events, port } = await h.startLine({ server: `${LOOPBACK}:${sippPort}` });
    const uac = await h.startSipp({ scenario: sippScenario('uac-too-small.xml'), port: sippPort, remote: `${LOOPBACK}:${port}`, calls: 1, extraArgs: ['-s', '1001', '-mp', String(media)] });
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-3000));
    assert.deepEqual(events.events.filter((e) => e.call), [], 'the flow saw no call');
    assert.ok(h.log.lines.some((l) => /refused a call .* with 422: session-timer: Session-Expires 60 is below our Min-SE 90/.test(l)), 'the log says why');
  });

  it('a peer that stops refreshing: we end the call with a BYE (Reason: SIP;cause=408) and the cause session-expired', async () => {
    const { events, call, uac } = await callFromSipp('uac-timer-stops.xml', { se: String(SHORT) }, SHORT_TIMERS);
    const ended = await events.next('ended');
    assert.equal(ended.call?.id, call.id);
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['session-expired', 'local']);
    assert.match(String(ended.payload.text), /no session refresh within 6 s/);
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-3000));
  });

  describe('with Kamailio in the path', () => {
    before(function () {
      requirePeer(this, 'kamailio');
    });

    it('our UPDATE refresh follows the Record-Route through Kamailio and is answered (Kamailio logs it, SIPp exit 0)', async () => {
      const kamailio = await Kamailio.start({ users: { alice: 'alice-pw' } });
      h.track(kamailio, () => kamailio.log());
      const uas = await sippUas('uas-refresh-update.xml', { se: String(SHORT) });
      const { line, events, port } = await h.startLine({ server: kamailio.address }, { backend: SHORT_TIMERS });
      const call = await line.dial(`sip:2000@${uas.address}`);
      await events.next('answered');
      await waitFor('our refresh answered', () => refreshesAnswered() >= 1, 10_000);
      await line.hangup(call.id);
      await events.next('ended');
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-3000));
      // Kamailio's request log (its request_route xlog): the INVITE record-routed, then our UPDATE loose-routed through it.
      const log = kamailio.log();
      assert.match(log, new RegExp(`request INVITE sip:2000@${LOOPBACK.replace(/\./g, '\\.')}:${uas.port} from ${LOOPBACK.replace(/\./g, '\\.')}:${port}`), log.slice(-2000));
      assert.match(log, new RegExp(`request UPDATE \\S+ from ${LOOPBACK.replace(/\./g, '\\.')}:${port}`), log.slice(-2000));
    });
  });
});
