/**
 * The room SIP features have (lib/sip/sip-call-context.ts): a feature given to a SIP line shapes what
 * the line sends (its 200, its BYE, a re-INVITE / UPDATE through lib/sip/sip-reinvite.ts), answers
 * requests before sip.js sees them (an INVITE with a Require it refuses, an UPDATE in the dialog), adds
 * its option tags and methods to the line's Supported / Allow, and gets every session callback even when
 * another feature has the same one (fanned out, answered once).
 *
 * One line in trunk mode on 127.0.0.1 whose server is a {@link RawSipRelay}: the test is the peer, in
 * raw SIP, and reads every header the line sends.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Call } from '../../lib/call/call';
import { VoiceLine } from '../../lib/line/voice-line';
import type { SipCallContext, SipCallFeature, SipOutgoing } from '../../lib/sip/sip-call-context';
import { SipBackend } from '../../lib/sip/sip-backend';
import { sipBackendOptions } from '../../lib/sip/sip-line-settings';
import { reoffer } from '../../lib/sip/sip-reinvite';
import { memoryLog } from '../helpers/at-harness';
import { EventLog } from '../helpers/event-log';
import { buildRequest, buildResponse, RawSipMessage, RawSipRelay, RequestParts, sdpOffer, tagOf, token } from '../helpers/raw-sip';
import { LOOPBACK, pickPorts, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 10_000;

/** A feature that records what it saw and shapes what it is asked to; one per test line. */
class ProbeFeature implements SipCallFeature {
  readonly name: string;
  readonly supported: readonly string[];
  readonly allow = ['UPDATE'];
  readonly seen: string[] = [];
  readonly byes: string[] = [];
  ctx!: SipCallContext;
  constructor(name: string, tag: string, private readonly answersBye: boolean) {
    this.name = name;
    this.supported = [tag];
  }

  readonly session = {
    onBye: (call: Call, bye: { accept(): Promise<void> }): void => {
      this.byes.push(call.id);
      if (this.answersBye) bye.accept().catch(() => undefined);
    },
  };

  outgoing(out: SipOutgoing): void {
    out.headers.push(`X-${this.name}: ${out.kind}${out.end ? ` ${out.end.cause}` : ''}`);
  }

  request(message: import('sip.js/lib/core').IncomingRequestMessage, call: Call | undefined): { statusCode: number; why: string; extraHeaders?: string[] } | void {
    this.seen.push(`${message.method} ${call ? 'in-dialog' : 'new'}`);
    if (this.name !== 'first') return;
    if (message.hasHeader('x-refuse-me')) return { statusCode: 403, why: 'test', extraHeaders: ['X-Refused-By: first'] };
    if (message.method === 'UPDATE' && call) return { statusCode: 200, why: 'a refresh', extraHeaders: ['X-Update-Answer: yes'] };
  }
}

describe('SIP features: hooks for what a line sends and receives, one delegate, the re-INVITE / UPDATE helper (integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  let relay: RawSipRelay;
  let line: VoiceLine;
  let ev: EventLog;
  let port: number;
  const first = new ProbeFeature('first', 'probe-one', false);
  const second = new ProbeFeature('second', 'probe-two', true);

  const via = (): RequestParts['via'] => ({ host: LOOPBACK, port: relay.port });
  const lineUri = (): string => `sip:2002@${LOOPBACK}:${port}`;

  before(async function () {
    relay = await RawSipRelay.open();
    port = await pickPorts(1);
    const rtpBase = 30000 + 32 * randomInt(0, 300);
    line = new VoiceLine(
      { id: 'probe', backend: 'sip', server: `${LOOPBACK}:${relay.port}`, username: '2002', register: false, localPort: port, localAddress: LOOPBACK, rtpPortMin: rtpBase, rtpPortMax: rtpBase + 15 },
      {
        log,
        backendFactory: (l) =>
          new SipBackend({
            ...sipBackendOptions(l.config, { lineId: l.id, log: l.log }),
            keepAliveSeconds: 0,
            features: [
              (ctx) => Object.assign(first, { ctx }),
              (ctx) => Object.assign(second, { ctx }),
            ],
          }),
      },
    );
    relay.relay(port, relay.port + 1);
    ev = new EventLog(line, WAIT_MS);
    await line.start();
    await waitFor('the line ready', () => line.backend?.ready === true, WAIT_MS);
  });

  after(async function () {
    await line?.stop();
    relay?.close();
  });

  /** An INVITE from the relay; returns its parts for the dialog. */
  async function invite(headers: string[] = []): Promise<{ callId: string; fromTag: string }> {
    const callId = relay.own();
    const fromTag = token();
    await relay.send(
      buildRequest({ method: 'INVITE', ruri: lineUri(), via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, headers, contentType: 'application/sdp', body: sdpOffer(LOOPBACK, 40000) }),
    );
    return { callId, fromTag };
  }

  function header(m: RawSipMessage, name: string): string {
    return (m.headers.get(name.toLowerCase()) ?? []).join(', ');
  }

  it('a request hook answers an INVITE before sip.js sees it: the answer it gave, no call reported', async function () {
    const seenBefore = ev.events.length;
    const { callId, fromTag } = await invite(['X-Refuse-Me: yes']);
    const final = await relay.final(callId, 'INVITE');
    assert.equal(final.status, 403);
    assert.equal(header(final, 'x-refused-by'), 'first');
    const branch = /;branch=([^;]+)/.exec(final.header('via'))?.[1];
    await relay.send(buildRequest({ method: 'ACK', ruri: lineUri(), via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(final.header('to')), branch }));
    assert.ok(first.seen.includes('INVITE new'), first.seen.join());
    assert.equal(ev.events.slice(seenBefore).filter((e) => e.topic === 'incoming').length, 0, 'no call was reported');
  });

  it('a call: the 200 and BYE carry every feature\'s headers, Supported / Allow list the features\', UPDATE goes to the hook with its call, the helper sends an UPDATE, a BYE reaches both features and is answered once', async function () {
    const { callId, fromTag } = await invite();
    const incoming = await ev.next('incoming');
    const call = await line.answer(incoming.call?.id);
    const ok = await relay.final(callId, 'INVITE');
    assert.equal(ok.status, 200);
    assert.equal(header(ok, 'x-first'), 'answer');
    assert.equal(header(ok, 'x-second'), 'answer');
    const supported = header(ok, 'supported').split(/\s*,\s*/);
    assert.ok(supported.includes('probe-one') && supported.includes('probe-two'), `Supported: ${supported.join(',')}`);
    assert.ok(!supported.includes('outbound'), `no outbound in Supported: ${supported.join(',')}`);
    const allow = header(ok, 'allow').split(/\s*,\s*/);
    for (const m of ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'UPDATE', 'INFO', 'REFER', 'NOTIFY']) assert.ok(allow.includes(m), `Allow has ${m}: ${allow.join(',')}`);
    for (const m of ['PRACK', 'REGISTER', 'SUBSCRIBE']) assert.ok(!allow.includes(m), `Allow has no ${m}: ${allow.join(',')}`);
    const contact = /<([^>]+)>/.exec(ok.header('contact'))?.[1] as string;
    const toTag = tagOf(ok.header('to')) as string;
    const dialog = (method: string, cseq: number, extra: Partial<RequestParts> = {}): string =>
      buildRequest({ method, ruri: contact, via: via(), callId, cseq, fromTag, to: `sip:2002@${LOOPBACK}`, toTag, ...extra });
    await relay.send(dialog('ACK', 1));
    await ev.next('answered', (e) => e.call?.id === call.id);

    // Their UPDATE: the first feature answers it, with its call.
    await relay.send(dialog('UPDATE', 2));
    const updated = await relay.final(callId, 'UPDATE');
    assert.equal(updated.status, 200);
    assert.equal(header(updated, 'x-update-answer'), 'yes');
    assert.ok(first.seen.includes('UPDATE in-dialog'), first.seen.join());

    // Our UPDATE through the helper: shaped by both features; resolves on their 200.
    const sent = reoffer(first.ctx, call, { method: 'UPDATE', what: 'session refresh' });
    const ours = await relay.next((m) => m.method === 'UPDATE', WAIT_MS, 'our UPDATE');
    assert.equal(header(ours, 'x-first'), 'update');
    assert.equal(header(ours, 'x-second'), 'update');
    assert.equal(ours.body, '', 'a refresh without SDP');
    await relay.send(buildResponse(ours, 200, 'OK'));
    assert.equal((await sent).statusCode, 200);
    // A refusal rejects with the status line.
    const refused = reoffer(first.ctx, call, { method: 'UPDATE', what: 'session refresh' });
    const again = await relay.next((m) => m.method === 'UPDATE', WAIT_MS, 'our second UPDATE');
    await relay.send(buildResponse(again, 491, 'Request Pending'));
    await assert.rejects(refused, /the other side refused the session refresh: SIP\/2\.0 491 Request Pending/);

    // Their BYE: both features see it; the second answers it, the backend ends the call normal.
    await relay.send(dialog('BYE', 3));
    const byeOk = await relay.final(callId, 'BYE');
    assert.equal(byeOk.status, 200);
    const ended = await ev.next('ended', (e) => e.call?.id === call.id);
    assert.equal(ended.payload.cause, 'normal');
    assert.deepEqual([first.byes.includes(call.id), second.byes.includes(call.id)], [true, true]);
    assert.equal(await relay.none((m) => m.status !== undefined && m.header('cseq').endsWith(' BYE') && m !== byeOk, 500), undefined, 'the BYE was answered once');
  });

  it('our BYE carries the features\' headers with the cause the call ends with', async function () {
    const { callId, fromTag } = await invite();
    const incoming = await ev.next('incoming');
    const call = await line.answer(incoming.call?.id);
    const ok = await relay.final(callId, 'INVITE');
    const contact = /<([^>]+)>/.exec(ok.header('contact'))?.[1] as string;
    await relay.send(buildRequest({ method: 'ACK', ruri: contact, via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(ok.header('to')) }));
    await ev.next('answered', (e) => e.call?.id === call.id);
    const hangup = line.hangup(call.id, 'normal');
    const bye = await relay.next((m) => m.method === 'BYE', WAIT_MS, 'our BYE');
    assert.equal(header(bye, 'x-first'), 'bye normal');
    await relay.send(buildResponse(bye, 200, 'OK'));
    await hangup;
  });

  it('our refusal of a ringing call carries the features\' headers with its cause', async function () {
    const { callId, fromTag } = await invite();
    const incoming = await ev.next('incoming');
    await line.hangup(incoming.call?.id, 'busy');
    const final = await relay.final(callId, 'INVITE');
    assert.equal(final.status, 486);
    assert.equal(header(final, 'x-second'), 'reject busy');
    const branch = /;branch=([^;]+)/.exec(final.header('via'))?.[1];
    await relay.send(buildRequest({ method: 'ACK', ruri: lineUri(), via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(final.header('to')), branch }));
  });
});
