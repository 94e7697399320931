/**
 * Targets, caller identity and privacy of a SIP line against real peers on 127.0.0.1
 * (docs/sip-backend.md, "Targets" and "Caller ID and privacy"):
 * - `tel:` URIs, a bare extension and a service code dialled through Kamailio: the Request-URI and To
 *   that reach SIPp behind it (read from SIPp's message log, asserted exactly);
 * - the identity headers SIPp sends (anonymous From, Privacy, P-Asserted-Identity, Remote-Party-ID
 *   with its privacy values, quoted names): the `remote` fields the flow sees;
 * - our privacy dial option as SIPp sees it (its check_it regexps, and the exact header in its log).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteParty } from '../../lib/call/call';
import { interopHarness } from '../helpers/interop-harness';
import { Kamailio, LOOPBACK, Sipp, pickPorts, requirePeer, sippScenario } from '../helpers/sip-peers';

describe('SIP targets, caller identity and privacy with real peers (integration)', function () {
  this.timeout(90_000);
  const { startLine, startSipp, defer } = interopHarness('targets');

  /** A folder for SIPp's message log (and generated scenarios), removed after the test. */
  function scratch(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sip-targets-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The first received `method` request in SIPp's message log: its start line's URI and its headers. */
  function received(log: string, method: string): { uri: string; header(name: string): string | undefined } {
    const at = log.indexOf(`\n${method} sip:`);
    assert.ok(at >= 0, `SIPp logged a ${method}: ${log.slice(0, 1500)}`);
    const rest = log.slice(at + 1);
    const end = rest.search(/\r?\n\r?\n/);
    const text = end < 0 ? rest : rest.slice(0, end);
    const uri = /^\S+ (\S+) SIP\/2\.0/.exec(text)?.[1] ?? '';
    return {
      uri,
      header: (name) => new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'mi').exec(text)?.[1],
    };
  }

  describe('dialled through Kamailio: the Request-URI and To that reach SIPp', () => {
    let kamailio: Kamailio;

    before(async function () {
      requirePeer(this, 'kamailio', 'sipp');
      // No account is used (the line does not register); Kamailio's config wants one entry.
      kamailio = await Kamailio.start({ users: { unused: 'unused' } });
    });

    after(async () => {
      await kamailio?.stop();
    });

    /** Dials `target` on a line whose server is Kamailio and whose domain is SIPp's address; returns what SIPp got. */
    async function dialThroughKamailio(target: string): Promise<{ uri: string; to: string | undefined; remote: RemoteParty }> {
      const dir = scratch();
      const messages = join(dir, 'messages.log');
      const uas = await startSipp({ scenario: sippScenario('target-uas.xml'), calls: 1, extraArgs: ['-trace_msg', '-message_file', messages] });
      const { line } = await startLine({ server: kamailio.address, domain: uas.address });
      const result = await line.dialAndWait(target);
      assert.deepEqual([result.end?.cause, result.end?.sipCode], ['unavailable', 480], `the dial of ${target} reached SIPp and got its 480`);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
      const invite = received(readFileSync(messages, 'utf8'), 'INVITE');
      return { uri: invite.uri, to: invite.header('To'), remote: result.call.remote };
    }

    it('tel:+49-30-1234 (global): sip:+49301234@<domain>;user=phone, in the Request-URI and the To', async function () {
      const got = await dialThroughKamailio('tel:+49-30-1234');
      const domain = got.uri.slice(got.uri.indexOf('@') + 1, got.uri.indexOf(';'));
      assert.match(domain, /^127\.0\.0\.1:\d+$/);
      assert.equal(got.uri, `sip:+49301234@${domain};user=phone`);
      assert.equal(got.to, `<sip:+49301234@${domain};user=phone>`);
      assert.equal(got.remote.number, '+49301234');
    });

    it('tel:1234;phone-context=example.com (local): the context stays in the user part, unescaped', async function () {
      const got = await dialThroughKamailio('tel:1234;phone-context=example.com');
      assert.match(got.uri, /^sip:1234;phone-context=example\.com@127\.0\.0\.1:\d+;user=phone$/);
      assert.match(got.to ?? '', /^<sip:1234;phone-context=example\.com@127\.0\.0\.1:\d+;user=phone>$/);
      assert.equal(got.remote.number, '1234');
    });

    it('a bare extension (bob) and a service code (#31#1234, its # escaped) go to <user>@<domain>', async function () {
      const bob = await dialThroughKamailio('bob');
      assert.match(bob.uri, /^sip:bob@127\.0\.0\.1:\d+$/);
      assert.match(bob.to ?? '', /^<sip:bob@127\.0\.0\.1:\d+>$/);
      assert.equal(bob.remote.number, 'bob');
      const code = await dialThroughKamailio('#31#1234');
      assert.match(code.uri, /^sip:%2331%231234@127\.0\.0\.1:\d+$/);
      assert.equal(code.remote.number, '#31#1234');
    });
  });

  describe('the caller identity SIPp sends → msg.call.remote', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    /** A UAC scenario: one INVITE with `from` (a From value without tag) and `headers`, our 486 expected, ACKed. */
    function uacScenario(dir: string, from: string, headers: string[]): string {
      const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="identity uac">
  <send retrans="500">
    <![CDATA[
INVITE sip:1001@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${from};tag=[pid]SIPpTag00[call_number]
To: <sip:1001@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
${headers.map((h) => `${h}\n`).join('')}Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="486" />
  <send>
    <![CDATA[
ACK sip:1001@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: ${from};tag=[pid]SIPpTag00[call_number]
To: <sip:1001@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="200" />
</scenario>
`;
      const path = join(dir, 'identity-uac.xml');
      writeFileSync(path, xml);
      return path;
    }

    /** SIPp calls a line (trunk mode, SIPp its server) with `from` and `headers`; the flow's `remote`, after a 486 SIPp takes. */
    async function callerSeen(from: string, headers: string[] = []): Promise<RemoteParty> {
      const sippPort = await pickPorts(1);
      const { line, events, port } = await startLine({ server: `${LOOPBACK}:${sippPort}` });
      const uac: Sipp = await startSipp({ scenario: uacScenario(scratch(), from, headers), port: sippPort, remote: `${LOOPBACK}:${port}`, calls: 1 });
      const incoming = await events.next('incoming');
      await line.hangup(incoming.call?.id, 'busy');
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
      return incoming.call?.remote as RemoteParty;
    }

    it('an anonymous From with Privacy: id and a P-Asserted-Identity: no number, withheld', async function () {
      const remote = await callerSeen('"Anonymous" <sip:anonymous@anonymous.invalid>', ['Privacy: id', 'P-Asserted-Identity: <tel:+4930123456>']);
      assert.deepEqual(remote, { number: '', uri: 'sip:anonymous@anonymous.invalid', withheld: true, withheldReason: 'withheld' });
    });

    it('a From without a user: the number and name of Remote-Party-ID (party=calling, privacy=off), its quoted name unescaped', async function () {
      const remote = await callerSeen(`<sip:${LOOPBACK}>`, [`Remote-Party-ID: "Smith, \\"Bob\\"" <sip:+4930555@${LOOPBACK}>;party=calling;privacy=off;screen=yes`]);
      assert.deepEqual(remote, { number: '+4930555', uri: `sip:${LOOPBACK}`, name: 'Smith, "Bob"' });
    });

    it('Remote-Party-ID privacy=full: withheld, neither number nor name', async function () {
      const remote = await callerSeen(`<sip:${LOOPBACK}>`, [`Remote-Party-ID: "Bob" <sip:+4930555@${LOOPBACK}>;party=calling;privacy=full`]);
      assert.deepEqual(remote, { number: '', uri: `sip:${LOOPBACK}`, withheld: true, withheldReason: 'withheld' });
    });

    it('a From without a user and a P-Asserted-Identity tel: URI with a name: its number and name', async function () {
      const remote = await callerSeen(`<sip:${LOOPBACK}>`, ['P-Asserted-Identity: "Carrier Gateway" <tel:+49-30-999>']);
      assert.deepEqual(remote, { number: '+4930999', uri: `sip:${LOOPBACK}`, name: 'Carrier Gateway' });
    });

    it('a plain From: its number and name, not withheld (the scenarios differ only in what they send)', async function () {
      const remote = await callerSeen(`"Alice" <sip:5551234@${LOOPBACK}>`);
      assert.deepEqual(remote, { number: '5551234', uri: `sip:5551234@${LOOPBACK}`, name: 'Alice' });
    });
  });

  describe('our privacy dial option as SIPp sees it', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    async function dialPrivately(options: Record<string, unknown>): Promise<{ code: number | null; pai: string | undefined; text: string }> {
      const messages = join(scratch(), 'messages.log');
      const uas = await startSipp({ scenario: sippScenario('privacy-uas.xml'), calls: 1, extraArgs: ['-trace_msg', '-message_file', messages] });
      const { line } = await startLine({ server: uas.address, displayName: 'Line 1001' });
      const result = await line.dialAndWait('2000', options);
      assert.equal(result.end?.sipCode, 480);
      const code = await uas.exitCode();
      return { code, pai: received(readFileSync(messages, 'utf8'), 'INVITE').header('P-Asserted-Identity'), text: uas.process.text() };
    }

    it('privacy: Privacy: id, the anonymous From, and our identity in P-Asserted-Identity (SIPp checks all three)', async function () {
      const got = await dialPrivately({ privacy: true });
      assert.equal(got.code, 0, got.text.slice(-2000));
      assert.match(got.pai ?? '', /^"Line 1001" <sip:1001@127\.0\.0\.1(?::\d+)?>$/);
    });

    it('privacy with a tel: caller ID: the identity asserted as that tel URI', async function () {
      const got = await dialPrivately({ privacy: true, callerId: 'tel:+49-30-123456', callerName: 'Support' });
      assert.equal(got.code, 0, got.text.slice(-2000));
      assert.equal(got.pai, '"Support" <tel:+4930123456>');
    });

    it('the same checks fail without the option: the scenario really checks', async function () {
      const got = await dialPrivately({});
      assert.notEqual(got.code, 0, 'SIPp must refuse an INVITE without Privacy: id and the anonymous From');
      assert.equal(got.pai, undefined);
    });
  });
});
