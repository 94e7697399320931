/**
 * Honest headers and the causes of the second wave, against SIPp on 127.0.0.1 (issue 11 parts 10, 11):
 * what the line says about itself (Require checked with 420 + Unsupported, Allow, Supported,
 * User-Agent), how a BYE's Reason header ends the call, and what a flow's refusal puts on the wire
 * (the code and its `Reason: Q.850`). SIPp's own verdict is the proof of what reached it: its exit code
 * is 0 only when every message it expects came and every `check_it` regexp matched.
 */
import assert from 'node:assert/strict';
import { interopHarness } from '../helpers/interop-harness';
import { LOOPBACK, pickPorts, pickSippMediaPort, requirePeer, sippScenario } from '../helpers/sip-peers';

/**
 * A SIPp caller whose INVITE the line refuses: it requires the final response `code` (another one
 * fails the call) with a Reason header matching `reason`, and ACKs it. (SIPp takes neither a response
 * code nor a regexp from the command line: the scenario is written per case.)
 */
function refusedScenario(code: number, reason: string): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refused ${code}">
  <send retrans="500"><![CDATA[
INVITE sip:1001@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:1001@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

  ]]></send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="${code}">
    <action>
      <ereg regexp="${reason}" search_in="hdr" header="Reason:" check_it="true" assign_to="reason" />
      <log message="Reason: [$reason]" />
    </action>
  </recv>
  <send><![CDATA[
ACK sip:1001@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:1001@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

  ]]></send>
  <timewait milliseconds="300" />
</scenario>
`;
}

describe('SIP honest headers and causes with SIPp (integration)', function () {
  this.timeout(60_000);
  const { startLine, startSipp } = interopHarness('interop-headers');

  before(function () {
    requirePeer(this, 'sipp');
  });

  const byes: Array<[string, string, string]> = [
    // Asterisk with timers=required, after our missing session timer (issue 11): not "normal".
    ['SIP ;cause=421 ;text="Extension Required"', 'failed', 'the other side hung up: SIP 421 (Extension Required)'],
    ['Q.850;cause=27;text="Destination out of order"', 'out-of-order', 'the other side hung up: Q.850 cause 27 (Destination out of order)'],
  ];
  for (const [reason, cause, text] of byes) {
    it(`SIPp calls: Require it lacks → 420 with Unsupported (no call reported); the retry is answered with an honest Allow / Supported / User-Agent; a re-INVITE requiring it → 420; BYE with "${reason}" ends ${cause}, the Reason kept`, async () => {
      const sippPort = await pickPorts(1);
      const { line, events, port } = await startLine({ server: `${LOOPBACK}:${sippPort}` });
      const media = await pickSippMediaPort();
      const uac = await startSipp({
        scenario: sippScenario('uac-honest-headers.xml'), port: sippPort, calls: 1, remote: `${LOOPBACK}:${port}`,
        extraArgs: ['-mp', String(media), '-key', 'reason', reason],
      });
      const incoming = await events.next('incoming');
      await line.answer(incoming.call?.id);
      const ended = await events.next('ended');
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-3000));
      assert.deepEqual([ended.payload.cause, ended.payload.by, ended.payload.reason, ended.payload.text], [cause, 'remote', reason, text]);
      assert.equal(events.events.filter((e) => e.topic === 'incoming').length, 1, 'the INVITE refused 420 was never a call');
      assert.equal(events.events.filter((e) => e.topic === 'held' || e.topic === 'resumed').length, 0, 'the refused re-INVITE changed nothing');
    });
  }

  const refusals: Array<[string | number, number, string, string]> = [
    ['no-circuit', 503, 'Q\\.850;cause=34;text="No circuit/channel available"', 'no-circuit'],
    ['barred', 403, 'Q\\.850;cause=54;text="Incoming calls barred"', 'barred'],
    ['changed-number', 410, 'Q\\.850;cause=22;text="Number changed"', 'changed-number'],
    ['out-of-order', 502, 'Q\\.850;cause=27;text="Destination out of order"', 'out-of-order'],
    [404, 404, 'Q\\.850;cause=1;', 'not-found'],
    ['488', 488, 'Q\\.850;cause=127;', 'incompatible'],
  ];
  for (const [given, code, reason, cause] of refusals) {
    it(`the flow refuses a call from SIPp with ${JSON.stringify(given)}: SIPp gets ${code} with its Reason; the call ends ${cause}`, async () => {
      const sippPort = await pickPorts(1);
      const { line, events, port } = await startLine({ server: `${LOOPBACK}:${sippPort}` });
      const media = await pickSippMediaPort();
      const uac = await startSipp({
        scenario: 'refused.xml', files: { 'refused.xml': refusedScenario(code, reason) }, port: sippPort, calls: 1, remote: `${LOOPBACK}:${port}`,
        extraArgs: ['-mp', String(media)],
      });
      const incoming = await events.next('incoming');
      await line.hangup(incoming.call?.id, given);
      const ended = await events.next('ended');
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-3000));
      assert.deepEqual([ended.payload.cause, ended.payload.by, ended.payload.sipCode], [cause, 'local', code]);
    });
  }
});
