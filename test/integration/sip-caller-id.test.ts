/**
 * A SIP line's caller id on loopback: INVITEs written by hand (test/helpers/raw-sip.ts) from the
 * address the line trusts (its server), with an anonymous From, `Privacy: id`, a From without a user
 * and a `P-Asserted-Identity`: `msg.call.remote` carries the number, `withheld` and its reason as
 * an AT line's `+CLIP` CLI validity would (lib/sip/sip-caller-id.ts).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { RemoteParty } from '../../lib/call/call';
import { callerOf } from '../../lib/sip/sip-caller-id';
import type { VoiceLine } from '../../lib/line/voice-line';
import { memoryLog } from '../helpers/at-harness';
import { EventLog } from '../helpers/event-log';
import { buildRequest, RawSipRelay, sdpOffer, tagOf, token } from '../helpers/raw-sip';
import { LOOPBACK, pickPorts, waitFor } from '../helpers/sip-peers';
import { sipLine } from '../helpers/sip-line';

const WAIT_MS = 10_000;

describe('SIP caller id: withheld numbers (integration, loopback)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  let relay: RawSipRelay;
  let b: VoiceLine;
  let ev: EventLog;
  let portB: number;

  before(async function () {
    relay = await RawSipRelay.open();
    portB = await pickPorts(1);
    b = sipLine('line-b', '2002', portB, `${LOOPBACK}:${relay.port}`, 30000 + 32 * randomInt(0, 300), log);
    relay.relay(portB, relay.port);
    ev = new EventLog(b, WAIT_MS);
    await b.start();
    await waitFor('line ready', () => b.backend?.ready === true, WAIT_MS);
  });

  after(async function () {
    await b?.stop();
    relay?.close();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-60).join('\n'));
    log.lines.length = 0;
  });

  /** Sends an INVITE with `from` (a From header value without tag) and `headers`; returns the incoming call's remote, then rejects the call. */
  async function callFrom(from: string, headers: string[] = []): Promise<RemoteParty> {
    const callId = relay.own();
    const fromTag = token();
    const bUri = `sip:2002@${LOOPBACK}:${portB}`;
    const invite = buildRequest({
      method: 'INVITE', ruri: bUri, via: { host: LOOPBACK, port: relay.port }, callId, cseq: 1, fromTag, to: 'sip:2002@' + LOOPBACK,
      omit: ['from'], headers: [`From: ${from};tag=${fromTag}`, ...headers], contentType: 'application/sdp', body: sdpOffer(LOOPBACK, 40000 + 2 * randomInt(0, 1000)),
    });
    await relay.send(invite);
    const incoming = await ev.next('incoming');
    await b.hangup(incoming.call?.id, 'busy');
    const final = await relay.final(callId, 'INVITE');
    assert.equal(final.status, 486);
    const branch = /;branch=([^;]+)/.exec(final.header('via'))?.[1];
    await relay.send(buildRequest({ method: 'ACK', ruri: bUri, via: { host: LOOPBACK, port: relay.port }, callId, cseq: 1, fromTag, to: 'sip:2002@' + LOOPBACK, toTag: tagOf(final.header('to')), branch, omit: ['from'], headers: [`From: ${from};tag=${fromTag}`] }));
    await ev.next('ended');
    return incoming.call?.remote as RemoteParty;
  }

  it('a plain From: the number, not withheld', async function () {
    const remote = await callFrom(`"Alice" <sip:+4930123456@${LOOPBACK}>`);
    assert.deepEqual(remote, { number: '+4930123456', uri: `sip:+4930123456@${LOOPBACK}`, name: 'Alice' });
  });

  it('an anonymous From (RFC 3323): no number, withheld', async function () {
    const remote = await callFrom('"Anonymous" <sip:anonymous@anonymous.invalid>', ['Privacy: id']);
    assert.deepEqual(remote, { number: '', uri: 'sip:anonymous@anonymous.invalid', withheld: true, withheldReason: 'withheld' });
  });

  it('Privacy: id with a real From: the number as given, withheld', async function () {
    const remote = await callFrom(`<sip:5551234@${LOOPBACK}>`, ['Privacy: id;critical']);
    assert.equal(remote.number, '5551234');
    assert.equal(remote.withheld, true);
    assert.equal(remote.withheldReason, 'withheld');
  });

  it('a From without a user takes its number from P-Asserted-Identity (a tel URI)', async function () {
    const remote = await callFrom(`<sip:${LOOPBACK}>`, [`P-Asserted-Identity: <sip:gw@${LOOPBACK}>, <tel:+49-30-1234>`]);
    // The first name-addr is a sip: URI with a user: that one counts.
    assert.equal(remote.number, 'gw');
    assert.equal(remote.withheld, undefined);
    const tel = await callFrom(`<sip:${LOOPBACK}>`, ['P-Asserted-Identity: "Gateway" <tel:+49-30-1234>']);
    assert.equal(tel.number, '+49301234');
  });

  it('a gateway\'s "unavailable" From: no number, withheld with reason unavailable', async function () {
    const remote = await callFrom('"Unavailable" <sip:unavailable@unknown.invalid>');
    assert.deepEqual(remote, { number: '', uri: 'sip:unavailable@unknown.invalid', withheld: true, withheldReason: 'unavailable' });
  });
});

describe('callerOf (the rules, without a network)', function () {
  const request = (user: string | undefined, host: string, headers: Record<string, string[]> = {}, displayName = '') => ({
    from: { uri: { user, host, toString: () => `sip:${user ? `${user}@` : ''}${host}` }, displayName },
    getHeader: (name: string) => headers[name.toLowerCase()]?.[0],
    getHeaders: (name: string) => headers[name.toLowerCase()] ?? [],
  });

  it('Privacy values: id, user and header hide the caller; none and session do not', function () {
    for (const [value, withheld] of [['id', true], ['user', true], ['header;critical', true], ['none', undefined], ['session', undefined]] as const) {
      assert.equal(callerOf(request('1001', 'pbx', { privacy: [value] })).withheld, withheld, value);
    }
  });

  it('anonymous users and hosts, in any case', function () {
    assert.equal(callerOf(request('Anonymous', 'pbx')).withheldReason, 'withheld');
    assert.equal(callerOf(request('x', 'ANONYMOUS.invalid')).withheldReason, 'withheld');
    assert.equal(callerOf(request('restricted', 'pbx')).number, '');
  });

  it('a P-Asserted-Identity does not replace a From user, and an unparsable one is ignored', function () {
    assert.equal(callerOf(request('1001', 'pbx', { 'p-asserted-identity': ['<sip:2002@pbx>'] })).number, '1001');
    assert.equal(callerOf(request(undefined, 'pbx', { 'p-asserted-identity': ['<<garbage'] })).number, '');
  });
});
