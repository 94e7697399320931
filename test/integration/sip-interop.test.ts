/**
 * Interop: a VoiceLine with the SIP backend against real peers on 127.0.0.1 (design §6): SIPp as
 * UAS and UAC, baresip driven over ctrl_tcp, Kamailio as registrar + proxy. Each test asserts what
 * reached the other side (SIPp's own verdict on its scenario, baresip's events), not only our events.
 * Every peer and line is stopped in afterEach, also when the test failed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interopHarness } from '../helpers/interop-harness';
import { Kamailio, LOOPBACK, pickPorts, pickSippMediaPort, requirePeer, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 20_000;

/** A SIPp scenario answering every INVITE 486 Busy Here, then taking the ACK. */
const BUSY_UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy uas">
  <recv request="INVITE" />
  <send>
    <![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />
</scenario>
`;

describe('SIP interop with real peers on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const { startLine, track, defer, startSipp, startBaresip } = interopHarness('interop');

  describe('SIPp', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('outbound to a SIPp UAS: answered by its 200; our hang-up reaches it as a BYE (SIPp counts one successful call)', async () => {
      const media = await pickSippMediaPort();
      const uas = await startSipp({ scenario: 'uas', calls: 1, extraArgs: ['-mp', String(media)] });
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await line.hangup(call.id);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'local']);
      // The UAS scenario only completes once the BYE came and was answered: exit code 0.
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('outbound to a SIPp UAS answering 486: our call ends busy with sipCode 486, and SIPp got our ACK', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sipp-busy-'));
      defer(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'busy.xml'), BUSY_UAS);
      const uas = await startSipp({ scenario: join(dir, 'busy.xml'), calls: 1 });
      const { line } = await startLine({ server: uas.address });
      const result = await line.dialAndWait('2000');
      assert.deepEqual([result.end?.cause, result.end?.sipCode, result.end?.by], ['busy', 486, 'remote']);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('inbound from a SIPp UAC: incoming, we answer, SIPp hangs up: ended normal by remote (SIPp counts one successful call)', async () => {
      const sippPort = await pickPorts(1);
      const media = await pickSippMediaPort();
      const { line, events, port } = await startLine({ server: `${LOOPBACK}:${sippPort}` });
      const uac = await startSipp({ scenario: 'uac', port: sippPort, remote: `${LOOPBACK}:${port}`, calls: 1, extraArgs: ['-s', '1001', '-d', '1000', '-mp', String(media)] });
      const incoming = await events.next('incoming');
      assert.equal(incoming.call?.remote.number, 'sipp');
      await line.answer(incoming.call?.id);
      await events.next('answered');
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
    });
  });

  describe('baresip', () => {
    before(function () {
      requirePeer(this, 'baresip');
    });

    it('outbound to baresip (auto-answer): answered; our DTMF 42 arrives at baresip (RFC 4733); we hang up and baresip sees the call closed', async () => {
      // Our dial takes phone numbers: baresip's account is a number.
      const b = await startBaresip({ account: `<sip:2000@${LOOPBACK}>;regint=0`, autoAnswer: true });
      const { line, events } = await startLine({ server: b.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      await line.dtmf.send(call.id, '42');
      const digits = [(await b.nextEvent('CALL_DTMF_START')).param, (await b.nextEvent('CALL_DTMF_START')).param];
      assert.deepEqual(digits, ['4', '2']);
      await line.hangup(call.id);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'local']);
      await b.nextEvent('CALL_CLOSED');
    });

    it('inbound from baresip: we answer; baresip sends 123# (RFC 4733): the gather gives 123 (finish key); baresip hangs up: ended normal by remote', async () => {
      const b = await startBaresip({ account: `<sip:bob@${LOOPBACK}>;regint=0` });
      const { line, events, port } = await startLine({ server: b.address });
      assert.equal((await b.command('dial', `sip:1001@${LOOPBACK}:${port}`)).ok, true);
      const incoming = await events.next('incoming');
      assert.equal(incoming.call?.remote.number, 'bob');
      await line.answer(incoming.call?.id);
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      const gather = await line.dtmf.collect(incoming.call?.id, { maxDigits: 10, finishKey: '#' });
      assert.equal((await b.command('sndcode', '123#')).ok, true);
      assert.deepEqual(await gather.result, { digits: '123', reason: 'finish-key' });
      assert.equal((await b.command('hangup')).ok, true);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    });
  });

  describe('through Kamailio (registrar + proxy)', () => {
    before(function () {
      requirePeer(this, 'kamailio', 'kamcmd', 'baresip');
    });

    it('our line and baresip register; baresip calls our AOR through Kamailio: incoming at our line, answered, baresip hangs up', async () => {
      const k = await Kamailio.start({ users: { alice: 'alice-pw', bob: 'bob-pw' } });
      track(k, () => k.log());
      const { line, events } = await startLine({ server: k.address, username: 'alice', register: true }, { password: 'alice-pw' });
      await events.next('registered');
      const b = await startBaresip({ account: `<sip:bob@${k.address}>;auth_pass=bob-pw;regint=60` });
      await waitFor('both registered at Kamailio', async () => (await k.contacts('alice')).length === 1 && (await k.contacts('bob')).length === 1, WAIT_MS);
      assert.equal((await b.command('dial', `sip:alice@${k.address}`)).ok, true);
      const incoming = await events.next('incoming');
      assert.equal(incoming.call?.remote.number, 'bob');
      await line.answer(incoming.call?.id);
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      assert.equal((await b.command('hangup')).ok, true);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    });
  });
});
