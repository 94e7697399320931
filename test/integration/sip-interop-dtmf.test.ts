/**
 * DTMF interop with SIPp on 127.0.0.1 (design §6), with scenarios in test/fixtures/sipp/:
 * - SIP INFO received: a SIPp UAC sends application/dtmf-relay and application/dtmf keys (and two
 *   INFO we must refuse, 400 and 415); the line's gather gets the keys, SIPp checks our answers;
 * - SIP INFO sent: a SIPp UAS checks each INFO body our line sends (check_it: a wrong body fails
 *   SIPp's call, hence its exit code); another refuses INFO with 415 and our send says so;
 * - in-band: a SIPp UAC plays a pcap of G.711 u-law RTP holding DTMF tones (made here: tones from
 *   lib/media/tone-generator, G.711 from lib/media/g711, RTP from lib/media/rtp-packet, in a libpcap
 *   file from test/helpers/pcap-writer) into a line in `inband` mode; and a pcap holding the same keys
 *   as tones AND as RFC 4733 events: each key is reported once.
 * Each test asserts what reached SIPp (its exit code) as well as what the line reported.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Session } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import { Call } from '../../lib/call/call';
import { CommandFailedError } from '../../lib/errors';
import type { VoiceLine } from '../../lib/line/voice-line';
import { DtmfSender } from '../../lib/media/dtmf-sender';
import { encodeUlaw, PT_PCMU } from '../../lib/media/g711';
import { serializeRtp } from '../../lib/media/rtp-packet';
import { concat, dtmfSequence, silence } from '../../lib/media/tone-generator';
import type { SipDtmfMode } from '../../lib/sip/rtp-description-handler';
import { SipBackend } from '../../lib/sip/sip-backend';
import type { SipCallContext } from '../../lib/sip/sip-call-context';
import type { EventLog } from '../helpers/event-log';
import { InteropLine, interopHarness } from '../helpers/interop-harness';
import { PcapDatagram, readPcapPayloads, writePcap } from '../helpers/pcap-writer';
import { LOOPBACK, pickPorts, pickSippMediaPort, requirePeer, sippScenario, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 20_000;
const NO_TIMEOUTS = { firstDigitTimeoutMs: 0, interDigitTimeoutMs: 0 };
const TE_PT = 101;

/**
 * RTP at 20 ms for `keys` as DTMF tones (G.711 u-law, 300 ms of silence first, each key `toneMs`
 * then as much silence, 400 ms of silence last), and with `events` the same keys as RFC 4733 events
 * too (payload type 101, starting with each tone), as a phone set to "RFC 2833 + in-band" sends them.
 * One SSRC, one sequence for both payload types, in time order.
 */
function dtmfRtp(keys: string, toneMs: number, events: boolean): PcapDatagram[] {
  const leadMs = 300;
  const audio = concat([silence(leadMs), dtmfSequence(keys, toneMs, toneMs), silence(400)]);
  const ssrc = 0x1234abcd;
  const ts0 = 16000;
  const items: Array<{ timeMs: number; order: number; make: (seq: number) => Buffer }> = [];
  for (let i = 0; i * 160 < audio.length; i++) {
    const frame = audio.subarray(i * 160, i * 160 + 160);
    items.push({
      timeMs: i * 20,
      order: 0,
      make: (seq) => serializeRtp({ payloadType: PT_PCMU, sequenceNumber: seq, timestamp: ts0 + i * 160, ssrc, marker: i === 0, payload: encodeUlaw(frame) }),
    });
  }
  if (events) {
    const sender = new DtmfSender({ payloadType: TE_PT });
    [...keys].forEach((key, k) => {
      const startMs = leadMs + k * 2 * toneMs;
      const timestamp = ts0 + startMs * 8;
      sender.packets(key, timestamp, toneMs).forEach((p, j) => {
        items.push({
          timeMs: startMs + j * 20,
          order: 1,
          make: (seq) => serializeRtp({ payloadType: p.payloadType, sequenceNumber: seq, timestamp: p.timestamp, ssrc, marker: p.marker, payload: p.payload }),
        });
      });
    });
  }
  items.sort((x, y) => x.timeMs - y.timeMs || x.order - y.order);
  return items.map((item, seq) => ({ timeMs: item.timeMs, payload: item.make(1000 + seq) }));
}

/**
 * For the pcap tests: SIPp's `play_pcap_audio` sends through a raw socket, which needs CAP_NET_RAW
 * (root has it). Skips saying why when this process (whose capabilities SIPp inherits) lacks it;
 * fails on CI.
 */
function requireRawSockets(ctx: Mocha.Context): void {
  const CAP_NET_RAW = 13n;
  let effective = 0n;
  try {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    effective = line ? BigInt(`0x${line[1]}`) : 0n;
  } catch {
    // not Linux: no way to tell, let SIPp try
    return;
  }
  if ((effective >> CAP_NET_RAW) & 1n) return;
  const why = 'SIPp plays pcap audio through a raw socket: run as root or give CAP_NET_RAW';
  if (process.env.CI === 'true') throw new Error(why);
  // eslint-disable-next-line no-console
  console.warn(`      skipped: ${why}`);
  ctx.skip();
}

/** The sip.js session of a call (test-only peek into the backend). */
function sessionOf(line: VoiceLine, call: Call): Session {
  const session = (line.backend as unknown as { ctx: SipCallContext }).ctx.sessionOf(call);
  assert.ok(session, 'the call has a sip.js session');
  return session;
}

/** The "go" a scenario waits for before it sends keys: an INFO without a body (our gather is running). */
function go(line: VoiceLine, call: Call): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (r: IncomingResponse): void => resolve(r.message.statusCode ?? 0);
    sessionOf(line, call).info({ requestDelegate: { onAccept: done, onReject: done } }).catch(reject);
  });
}

describe('SIP DTMF interop with SIPp on 127.0.0.1: SIP INFO both ways, in-band from a pcap (integration)', function () {
  this.timeout(90_000);
  const h = interopHarness('dtmf-interop');
  const sipp = h.startSipp;

  before(function () {
    requirePeer(this, 'sipp');
  });

  /** A started SIP line (trunk mode, `server` its only peer) in a DTMF mode; stopped after the test. */
  function startLine(server: string, dtmfMode: SipDtmfMode): Promise<InteropLine> {
    return h.startLine({ server, dtmfMode });
  }

  /** The dtmf events of a line so far, as [digit, source]. */
  function keys(events: EventLog): Array<[unknown, unknown]> {
    return events.events.filter((e) => e.topic === 'dtmf').map((e) => [e.payload.digit, e.payload.source]);
  }

  /** A SIPp UAC calls the line; the line answers: the call, connected. */
  async function inboundCall(scenario: string, dtmfMode: SipDtmfMode, files?: Record<string, Buffer>) {
    const sippPort = await pickPorts(1);
    const media = await pickSippMediaPort();
    const { line, events, port } = await startLine(`${LOOPBACK}:${sippPort}`, dtmfMode);
    const uac = await sipp({ scenario: sippScenario(scenario), port: sippPort, remote: `${LOOPBACK}:${port}`, calls: 1, files, extraArgs: ['-s', '1001', '-mp', String(media)] });
    const incoming = await events.next('incoming');
    const call = line.activeCalls().find((c) => c.id === incoming.call?.id) as Call;
    await line.answer(call.id);
    await events.next('answered');
    return { line, events, call, uac };
  }

  it('a SIPp UAC sends INFO (dtmf-relay 4 and 2, application/dtmf 7, dtmf-relay Signal=11): the gather collects 427 up to #; an unreadable body got 400 and media_control 415 at SIPp (exit 0)', async function () {
    // The line sends RFC 4733: INFO keys are read whatever the line's mode.
    const { line, events, call, uac } = await inboundCall('uac-info-dtmf.xml', 'rfc4733');
    const gather = await line.dtmf.collect(call.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    assert.equal(await go(line, call), 200);
    assert.deepEqual(await gather.result, { digits: '427', reason: 'finish-key' });
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    assert.deepEqual(keys(events), [['4', 'info'], ['2', 'info'], ['7', 'info'], ['#', 'info']]);
    // SIPp's scenario expected 200, 200, 200, 200, 400, 415, then 200 to its BYE: anything else fails it.
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
  });

  it('our line in INFO mode sends 42#: a SIPp UAS checks each INFO (application/dtmf-relay, Signal=4 / 2 / #, Duration=250) and counts the call good (exit 0)', async function () {
    const media = await pickSippMediaPort();
    const uas = await sipp({ scenario: sippScenario('uas-info-dtmf.xml'), calls: 1, extraArgs: ['-mp', String(media)] });
    const { line, events } = await startLine(uas.address, 'info');
    const call = await line.dial('2000');
    await events.next('answered');
    await line.dtmf.send(call.id, '42#', { durationMs: 250 });
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
  });

  it('a SIPp UAS refuses our INFO with 415: the send rejects with CommandFailedError naming 415, no second INFO goes (SIPp exit 0 after our BYE)', async function () {
    const media = await pickSippMediaPort();
    const uas = await sipp({ scenario: sippScenario('uas-info-refuse.xml'), calls: 1, extraArgs: ['-mp', String(media)] });
    const { line, events } = await startLine(uas.address, 'info');
    const call = await line.dial('2000');
    await events.next('answered');
    await assert.rejects(
      line.dtmf.send(call.id, '12'),
      (err: Error) => err instanceof CommandFailedError && /refused the DTMF key "1" sent as SIP INFO: 415 Unsupported Media Type/.test(err.message) && err.evidence === '415 Unsupported Media Type',
    );
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
  });

  it('in-band from a SIPp pcap (G.711 u-law RTP with the tones of 159#) into a line in inband mode: the gather collects 159, each key once, source inband', async function () {
    requireRawSockets(this);
    const datagrams = dtmfRtp('159#', 100, false);
    const pcap = writePcap(datagrams);
    assert.equal(readPcapPayloads(pcap).length, datagrams.length, 'the pcap reads back');
    const { line, events, call, uac } = await inboundCall('uac-pcap-dtmf.xml', 'inband', { 'dtmf.pcap': pcap });
    const gather = await line.dtmf.collect(call.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    assert.equal(await go(line, call), 200);
    assert.deepEqual(await gather.result, { digits: '159', reason: 'finish-key' });
    // Everything SIPp played has arrived (all of it decoded and searched for tones) before counting.
    const rtp = (line.backend as SipBackend).rtpOf(call);
    await waitFor('the whole pcap received', () => (rtp?.stats().packetsReceived ?? 0) >= datagrams.length, WAIT_MS);
    assert.deepEqual(keys(events), [['1', 'inband'], ['5', 'inband'], ['9', 'inband'], ['#', 'inband']]);
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
  });

  it('the same keys as tones AND RFC 4733 events in one pcap (a phone sending both): each key reported once, from the events (they come first)', async function () {
    requireRawSockets(this);
    const datagrams = dtmfRtp('2580', 120, true);
    const { line, events, call, uac } = await inboundCall('uac-pcap-dtmf.xml', 'inband', { 'dtmf.pcap': writePcap(datagrams) });
    const gather = await line.dtmf.collect(call.id, { maxDigits: 4, finishKey: null, ...NO_TIMEOUTS });
    assert.equal(await go(line, call), 200);
    assert.deepEqual(await gather.result, { digits: '2580', reason: 'max-digits' });
    const rtp = (line.backend as SipBackend).rtpOf(call);
    await waitFor('the whole pcap received', () => (rtp?.stats().packetsReceived ?? 0) >= datagrams.length, WAIT_MS);
    // Both sources really heard every key: the media counted 8 keys, the line reported 4.
    assert.equal(rtp?.stats().dtmfReceived, 8, 'the media heard each key twice (events and tones)');
    assert.deepEqual(keys(events), [['2', 'rfc4733'], ['5', 'rfc4733'], ['8', 'rfc4733'], ['0', 'rfc4733']]);
    await line.hangup(call.id);
    await events.next('ended');
    assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
  });
});
