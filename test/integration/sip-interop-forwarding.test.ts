/**
 * voice-forward against real SIP peers on 127.0.0.1 (design §6): SIPp as the transferee of our blind
 * transfer (scenarios in test/fixtures/sipp/refer-*.xml: SIPp's exit code says whether it got every
 * message it expected, in order), and baresip calling a line that redirects it (302) to a SIPp UAS.
 * What is asserted is what reached the other side, and what our flow saw.
 */
import assert from 'node:assert/strict';
import { CommandFailedError } from '../../lib/errors';
import { CallState } from '../../lib/call/call-state';
import { interopHarness } from '../helpers/interop-harness';
import { LOOPBACK, Sipp, pickPorts, requirePeer, sippScenario } from '../helpers/sip-peers';

const WAIT_MS = 20_000;

describe('SIP forwarding interop with SIPp and baresip on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const { log, startLine, startSipp, startBaresip } = interopHarness('fwd-interop', { logLines: 60 });

  async function sippUas(scenario: string): Promise<Sipp> {
    const media = await pickPorts(2);
    return startSipp({ scenario: /\.xml$/.test(scenario) ? sippScenario(scenario) : scenario, calls: 1, extraArgs: ['-mp', String(media)] });
  }

  describe('blind transfer (REFER) to a SIPp transferee', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('SIPp accepts (202), NOTIFYs 100 then 200: our transfer events follow, the call ends transferred, and our BYE comes after the final NOTIFY (SIPp exits 0)', async () => {
      const uas = await sippUas('refer-accept-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('answered');
      const done = await line.forwarding.transfer(call.id, '3003');
      assert.equal(done.to, '3003');
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['transferred', 'local']);
      const steps = events.events.filter((e) => e.topic === 'transfer').map((e) => [e.payload.status, e.payload.sipCode, e.payload.evidence]);
      assert.deepEqual(steps, [
        ['accepted', 202, 'SIP/2.0 202 Accepted'],
        ['progress', 100, 'SIP/2.0 100 Trying'],
        ['succeeded', 200, 'SIP/2.0 200 OK'],
      ]);
      // The scenario checked the Refer-To (sip:3003@...) and wanted our BYE after both NOTIFYs.
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('SIPp refuses the REFER (603): the transfer rejects naming 603, the call stays connected; our later hang-up reaches SIPp (exit 0)', async () => {
      const uas = await sippUas('refer-reject-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await assert.rejects(line.forwarding.transfer(call.id, '3003'), (err: Error) => err instanceof CommandFailedError && /603 Decline/.test(err.message) && /still connected/.test(err.message));
      assert.equal(call.state, CallState.Active);
      const failed = await events.next('transfer');
      assert.deepEqual([failed.payload.status, failed.payload.sipCode], ['failed', 603]);
      await line.hangup(call.id);
      assert.deepEqual((await events.next('ended')).payload.cause, 'normal');
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  });

  describe('the transfer NOTIFY timeout (transferNotifyTimeoutMs: 2 s)', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('SIPp accepts the REFER (202) and never NOTIFYs: the transfer rejects after the timeout saying so, the call stays connected; our hang-up reaches SIPp (exit 0)', async () => {
      const uas = await sippUas('refer-no-notify-uas.xml');
      const { line, events } = await startLine({ server: uas.address }, { backend: { transferNotifyTimeoutMs: 2000 } });
      const call = await line.dial('2000');
      await events.next('answered');
      await assert.rejects(
        line.forwarding.transfer(call.id, '3003'),
        (err: Error) => err instanceof CommandFailedError && /no final word \(NOTIFY\) from the other side within 2 s/.test(err.message) && /still connected/.test(err.message),
      );
      assert.equal(call.state, CallState.Active);
      const steps = events.events.filter((e) => e.topic === 'transfer').map((e) => [e.payload.status, e.payload.sipCode]);
      assert.deepEqual(steps, [
        ['accepted', 202],
        ['failed', undefined],
      ]);
      assert.equal(events.events.some((e) => e.topic === 'ended'), false, 'the call did not end');
      await line.hangup(call.id);
      assert.deepEqual((await events.next('ended')).payload.cause, 'normal');
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  });

  describe('an INVITE with Replaces that names no call of the line (RFC 3891 §3)', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('is answered 481 and never rings (SIPp requires the 481: exit 0); the line reports no call', async () => {
      const sippPort = await pickPorts(1);
      const { line, events, port } = await startLine({ server: `${LOOPBACK}:${sippPort}` });
      const media = await pickPorts(2);
      const uac = await startSipp({ scenario: sippScenario('uac-replaces-unknown.xml'), port: sippPort, calls: 1, remote: `${LOOPBACK}:${port}`, extraArgs: ['-mp', String(media)] });
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
      assert.deepEqual(events.events.filter((e) => e.call !== undefined).map((e) => e.topic), [], 'no call event');
      assert.equal(line.activeCalls().length, 0);
      assert.ok(log.lines.some((l) => /refused a call .* with 481: forwarding: the INVITE's Replaces names no call of this line/.test(l)), log.lines.join('\n'));
    });
  });

  describe('redirect (302) of a call from baresip', () => {
    before(function () {
      requirePeer(this, 'sipp', 'baresip');
    });

    it('baresip calls the line, the line redirects it to a SIPp UAS: baresip follows the 302, SIPp gets the INVITE, the call there is answered and ended (SIPp exits 0)', async () => {
      const target = await sippUas('uas');
      const bare = await startBaresip({ account: `<sip:bob@${LOOPBACK}>;regint=0` });
      const { line, events, port } = await startLine({ server: bare.address });
      const dialled = await bare.command('dial', `sip:1001@${LOOPBACK}:${port}`);
      assert.ok(dialled.ok, dialled.data);
      const incoming = await events.next('incoming');
      await line.forwarding.divert(incoming.call?.id, `sip:3003@${target.address}`);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by, ended.payload.sipCode], ['redirected', 'local', 302]);
      // baresip's new call reached SIPp and was answered there (baresip keeps the first URI as the
      // call's peer URI: SIPp's exit code is the proof that the INVITE went to it).
      await bare.nextEvent('CALL_ESTABLISHED', WAIT_MS);
      await bare.command('hangup');
      assert.equal(await target.exitCode(), 0, target.process.text().slice(-2000));
    });
  });
});
