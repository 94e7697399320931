/**
 * voice-forward against real SIP peers on 127.0.0.1 (design §6): SIPp as the transferee of our blind
 * transfer (scenarios in test/fixtures/sipp/refer-*.xml: SIPp's exit code says whether it got every
 * message it expected, in order), and baresip calling a line that redirects it (302) to a SIPp UAS.
 * What is asserted is what reached the other side, and what our flow saw.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CallStateError, CommandFailedError } from '../../lib/errors';
import { CallState } from '../../lib/call/call-state';
import { interopHarness } from '../helpers/interop-harness';
import { LOOPBACK, Sipp, pickPorts, pickSippMediaPort, requirePeer, sippScenario } from '../helpers/sip-peers';

const WAIT_MS = 20_000;

describe('SIP forwarding interop with SIPp and baresip on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const { log, startLine, startSipp, startBaresip } = interopHarness('fwd-interop', { logLines: 60 });

  /**
   * SIPp as a UAS. `fill` fills the scenario's `[name]` placeholders before SIPp reads it (SIPp's own
   * `-key` cannot: the status line of a response it sends is parsed when the scenario loads).
   */
  async function sippUas(scenario: string, fill: Record<string, string> = {}): Promise<Sipp> {
    const media = await pickSippMediaPort();
    const extraArgs = ['-mp', String(media)];
    if (!/\.xml$/.test(scenario)) return startSipp({ scenario, calls: 1, extraArgs });
    let text = readFileSync(sippScenario(scenario), 'utf8');
    for (const [name, value] of Object.entries(fill)) text = text.split(`[${name}]`).join(value);
    // Written into SIPp's working folder, where the relative -sf path is read.
    return startSipp({ scenario, files: { [scenario]: text }, calls: 1, extraArgs });
  }

  /** The `transfer` events so far: [status, sipCode, evidence, cause]. */
  function transferSteps(events: { events: Array<{ topic: string; payload: Record<string, unknown> }> }): unknown[][] {
    return events.events.filter((e) => e.topic === 'transfer').map((e) => [e.payload.status, e.payload.sipCode, e.payload.evidence, e.payload.cause]);
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
      assert.deepEqual(transferSteps(events), [
        ['started', undefined, undefined, undefined],
        ['accepted', 202, 'SIP/2.0 202 Accepted', undefined],
        ['progress', 100, 'SIP/2.0 100 Trying', undefined],
        ['succeeded', 200, 'SIP/2.0 200 OK', 'normal'],
      ]);
      // The scenario checked the Refer-To (sip:3003@...) and wanted our BYE after both NOTIFYs.
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    /**
     * A call to SIPp (`scenario` with its `fill`) transferred to 3003: the transfer fails naming `status`
     * (a status line without `SIP/2.0`), its events are `steps` then the failure with `cause`, the call
     * stays connected; our hang-up ends it normally and SIPp exits 0.
     */
    async function transferFails(scenario: string, fill: Record<string, string>, status: string, steps: unknown[][], cause: string): Promise<void> {
      const uas = await sippUas(scenario, fill);
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await assert.rejects(line.forwarding.transfer(call.id, '3003'), (err: Error) => err instanceof CommandFailedError && err.message.includes(status) && /still connected/.test(err.message));
      assert.equal(call.state, CallState.Active);
      assert.deepEqual(transferSteps(events), [['started', undefined, undefined, undefined], ...steps, ['failed', Number(status.slice(0, 3)), `SIP/2.0 ${status}`, cause]]);
      await line.hangup(call.id);
      assert.deepEqual((await events.next('ended')).payload.cause, 'normal');
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    }

    // The REFER's own answer: the transferee will not or cannot transfer (the target was never called).
    for (const [refusal, cause] of [
      ['603 Decline', 'failed'],
      ['405 Method Not Allowed', 'failed'],
      ['501 Not Implemented', 'failed'],
      ['481 Call/Transaction Does Not Exist', 'hangup'],
    ] as const) {
      it(`SIPp answers the REFER ${refusal}: the transfer fails with cause ${cause} naming the code, the call stays connected; our later hang-up reaches SIPp (exit 0)`, () =>
        transferFails('refer-reject-uas.xml', { refusal }, refusal, [], cause));
    }

    // The sipfrag of the final NOTIFY: how the transferee's call to the target ended.
    for (const [final, cause] of [
      ['486 Busy Here', 'target-busy'],
      ['600 Busy Everywhere', 'target-busy'],
      ['603 Decline', 'target-rejected'],
      ['403 Forbidden', 'target-rejected'],
      ['404 Not Found', 'target-rejected'],
      ['487 Request Terminated', 'target-hangup'],
      ['408 Request Timeout', 'timeout'],
    ] as const) {
      it(`SIPp accepts (202), NOTIFYs 100 then a final sipfrag ${final}: the transfer fails with cause ${cause}, the call stays connected; our hang-up reaches SIPp (exit 0)`, () =>
        transferFails('refer-final-status-uas.xml', { final }, final, [
          ['accepted', 202, 'SIP/2.0 202 Accepted', undefined],
          ['progress', 100, 'SIP/2.0 100 Trying', undefined],
        ], cause));
    }

    it('our party hangs up (BYE) after the 202, before any final NOTIFY: the transfer fails with cause hangup, the call ends normal by remote (SIPp exits 0)', async () => {
      const uas = await sippUas('refer-then-bye-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await assert.rejects(line.forwarding.transfer(call.id, '3003'), (err: Error) => err instanceof CallStateError && /ended before the transfer to 3003 was done/.test(err.message));
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
      assert.deepEqual(transferSteps(events), [
        ['started', undefined, undefined, undefined],
        ['accepted', 202, 'SIP/2.0 202 Accepted', undefined],
        ['progress', 100, 'SIP/2.0 100 Trying', undefined],
        ['failed', undefined, undefined, 'hangup'],
      ]);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  });

  describe('blind transfer (REFER) to baresip, a real transferee', () => {
    before(function () {
      requirePeer(this, 'sipp', 'baresip');
    });

    it('baresip takes our REFER to a SIPp UAS, calls it and NOTIFYs the outcome: started, accepted, succeeded (normal); the call ends transferred; baresip and SIPp then talk until baresip hangs up (SIPp exits 0)', async () => {
      const target = await sippUas('uas');
      const bare = await startBaresip({ account: `<sip:2000@${LOOPBACK}>;regint=0`, autoAnswer: true });
      const { line, events } = await startLine({ server: bare.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await bare.nextEvent('CALL_ESTABLISHED', WAIT_MS);
      const to = `sip:3003@${target.address}`;
      const done = await line.forwarding.transfer(call.id, to);
      assert.equal(done.to, to);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['transferred', 'local']);
      const steps = transferSteps(events);
      // baresip's NOTIFYs: maybe 100 / 180 on the way (progress), always a final 200 (succeeded).
      assert.deepEqual(steps[0], ['started', undefined, undefined, undefined]);
      assert.deepEqual(steps[1], ['accepted', 202, steps[1][2], undefined]);
      assert.match(String(steps[1][2]), /^SIP\/2\.0 202 /);
      assert.deepEqual(steps.at(-1), ['succeeded', 200, 'SIP/2.0 200 OK', 'normal']);
      assert.ok(steps.slice(2, -1).every((s) => s[0] === 'progress' && Number(s[1]) < 200), JSON.stringify(steps));
      // The new call baresip placed reached SIPp and was answered there; baresip ends it.
      await bare.nextEvent('CALL_ESTABLISHED', WAIT_MS);
      await bare.command('hangup');
      assert.equal(await target.exitCode(), 0, target.process.text().slice(-2000));
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
      assert.deepEqual(transferSteps(events), [
        ['started', undefined, undefined, undefined],
        ['accepted', 202, 'SIP/2.0 202 Accepted', undefined],
        ['failed', undefined, undefined, 'timeout'],
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
      const media = await pickSippMediaPort();
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
