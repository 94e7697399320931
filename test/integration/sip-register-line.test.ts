/**
 * Registration as a user sees it: a `VoiceLine` (backend 'sip', register: true, the password as a
 * credential, as the voice-line node passes it) and a Node-RED flow (voice-line config node with the
 * password as a credential, voice-events → a helper sink), against a real Kamailio on loopback
 * (test/helpers/sip-peers.ts). The agent-level cases (both transports, refresh, reconnect from a new
 * port) are in sip-register.test.ts; here every setting is the line's default, nothing is shortened.
 *
 * What the registrar holds is read from Kamailio (`kamcmd ul.dump`), and after a restart a real call
 * (baresip registered to the same Kamailio calls our AOR) proves the binding is back.
 *
 * The restart scenarios use TCP where the line must notice at once (the connection drops with the
 * server); over UDP nothing tells the line the server went away until a keep-alive OPTIONS goes
 * unanswered (30 s by default), so the UDP case waits for that before restarting Kamailio.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { LineConfig, VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { EventLog } from '../helpers/event-log';
import { interopHarness } from '../helpers/interop-harness';
import { Kamailio, LOOPBACK, requirePeer, waitFor } from '../helpers/sip-peers';
import { FlowNode, Inbox, Msg, NODES, errorsOf, helper, lineOf, sink, statusesOf, voiceNode } from '../nodes/flow-helpers';

const PASSWORD = 'alice-Secret-42';
const WRONG = 'not-Alices-pw-77';
const BOB_PASSWORD = 'bob-pw-31';
const WAIT_MS = 20_000;

/** An RTP range of 16 ports of its own (tests in parallel must not share one). */
function rtpRange(): { rtpPortMin: number; rtpPortMax: number } {
  const min = 40000 + 32 * randomInt(0, 300);
  return { rtpPortMin: min, rtpPortMax: min + 15 };
}

/** The texts that carry either password (none, when nothing leaked). */
function leaks(texts: string[]): string[] {
  return texts.filter((t) => t.includes(PASSWORD) || t.includes(WRONG));
}

function replaceErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}

describe('SIP registration through a VoiceLine and a Node-RED flow, against Kamailio (integration)', function () {
  this.timeout(120_000);
  let kamailio: Kamailio;
  const { log, defer, startBaresip } = interopHarness('reg-line', { output: () => kamailio?.log() ?? '', logLines: 60 });
  /** What each VoiceLine of the test said (events, status texts): checked for the passwords once it is stopped. */
  const said: Array<{ events: EventLog; statuses: string[] }> = [];

  before(async function () {
    requirePeer(this, 'kamailio', 'kamcmd', 'baresip');
    kamailio = await Kamailio.start({ users: { alice: PASSWORD, bob: BOB_PASSWORD } });
  });

  after(async () => {
    await kamailio?.stop();
  });

  // After the harness's afterEach: the lines are stopped, the log still holds what they said.
  afterEach(async function () {
    if (kamailio && !kamailio.running) await kamailio.restart();
    const lines = said.splice(0);
    if (lines.length === 0) return;
    // Nothing a line said carries a password: events, status texts, log lines.
    for (const { events, statuses } of lines) {
      assert.deepEqual(leaks(events.events.map((e) => JSON.stringify(e))), [], 'an event carries a password');
      assert.deepEqual(leaks(statuses), [], 'a status text carries a password');
    }
    assert.deepEqual(leaks(log.lines), [], 'a log line carries a password');
  });

  /** Baresip registered to Kamailio as bob calls alice (our line): resolves once it is established, then hangs up. */
  async function callFromBob(answer: (event: VoiceEvent | Msg) => Promise<void>, incoming: () => Promise<VoiceEvent | Msg>): Promise<void> {
    const b = await startBaresip({ account: `<sip:bob@${kamailio.address}>;auth_pass=${BOB_PASSWORD};regint=60` });
    await waitFor('bob registered at Kamailio', async () => (await kamailio.contacts('bob')).length === 1, WAIT_MS);
    assert.equal((await b.command('dial', `sip:alice@${kamailio.address}`)).ok, true);
    const event = await incoming();
    assert.equal(event.call?.remote.number, 'bob');
    await answer(event);
    await b.nextEvent('CALL_ESTABLISHED', WAIT_MS);
    assert.equal((await b.command('hangup')).ok, true);
    await b.nextEvent('CALL_CLOSED', WAIT_MS);
  }

  describe('VoiceLine', () => {
    /** A line as the voice-line node makes it: the password as a credential, every timing at its default. */
    async function startLine(config: Partial<LineConfig>, password = PASSWORD): Promise<{ line: VoiceLine; events: EventLog }> {
      const line = new VoiceLine(
        { id: 'reg-line', backend: 'sip', server: kamailio.address, transport: 'udp', username: 'alice', register: true, localAddress: LOOPBACK, ...rtpRange(), ...config },
        { log, credentials: { password } },
      );
      const events = new EventLog(line, WAIT_MS);
      const statuses: string[] = [];
      line.on('status', (s: { text: string }) => statuses.push(s.text));
      defer(() => line.stop());
      said.push({ events, statuses });
      await line.start();
      return { line, events };
    }

    it('registers: `registered` with our AOR, the line ready, the registrar holds our Contact', async () => {
      const { line, events } = await startLine({});
      const registered = await events.next('registered');
      assert.equal(registered.payload.aor, 'sip:alice@127.0.0.1');
      assert.equal(registered.payload.code, 200);
      assert.equal(line.status.state, 'ready');
      await events.next('line-up');
      const contacts = await kamailio.contacts('alice');
      assert.equal(contacts.length, 1);
      assert.match(contacts[0], /^sip:alice@127\.0\.0\.1:\d+;transport=udp$/);
    });

    it('a wrong password: `registration-failed` 401/403 saying so, the status says so, never the password', async () => {
      const { line, events } = await startLine({}, WRONG);
      const failed = await events.next('registration-failed');
      assert.ok(failed.payload.code === 401 || failed.payload.code === 403, `code ${String(failed.payload.code)}`);
      assert.equal(failed.payload.authFailed, true);
      assert.match(String(failed.payload.text), /password/);
      assert.equal(line.status.state, 'error');
      assert.match(line.status.text, /^username or password refused/);
      assert.ok(!events.topics().includes('registered'));
      assert.deepEqual(await kamailio.contacts('alice'), []);
      // The log said what happened (so that the leak check after the test looks at something).
      assert.ok(log.lines.some((l) => /username or password refused/.test(l)), log.lines.join('\n'));
    });

    it('unregisters on close: `unregistered` (closed, 200), `line-down`, and the registrar no longer has the Contact', async () => {
      const { line, events } = await startLine({});
      await events.next('registered');
      assert.equal((await kamailio.contacts('alice')).length, 1);
      await line.stop();
      const unregistered = await events.next('unregistered');
      assert.deepEqual(unregistered.payload, { reason: 'closed', code: 200 });
      await events.next('line-down');
      assert.equal(line.status.state, 'closed');
      assert.deepEqual(await kamailio.contacts('alice'), []);
    });

    it('TCP: Kamailio killed and restarted: `line-down`, then `registered` again on the same line, and a call through it works', async () => {
      const { line, events } = await startLine({ transport: 'tcp' });
      await events.next('registered');
      await kamailio.restart(); // SIGKILL: every binding is lost with it
      const down = await events.next('line-down');
      assert.match(String(down.payload.text), /connection .* lost/);
      await events.next('registered', () => true, 30_000);
      assert.equal(line.status.state, 'ready');
      assert.equal((await kamailio.contacts('alice')).length, 1);
      await callFromBob(
        async (e) => {
          await line.answer(e.call?.id);
        },
        () => events.next('incoming'),
      );
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    });

    it('UDP: Kamailio killed: `line-down` once the keep-alive goes unanswered; restarted: `registered` again', async () => {
      const { line, events } = await startLine({ transport: 'udp' });
      await events.next('registered');
      await kamailio.kill();
      // The default keep-alive: an OPTIONS every 30 s, 5 s to answer.
      const down = await events.next('line-down', () => true, 60_000);
      assert.match(String(down.payload.text), /does not answer/);
      assert.notEqual(line.status.state, 'ready');
      await kamailio.restart();
      await events.next('registered', () => true, 45_000);
      assert.equal(line.status.state, 'ready');
      assert.equal((await kamailio.contacts('alice')).length, 1);
    });
  });

  describe('Node-RED flow', () => {
    afterEach(async () => {
      await helper.unload();
    });

    /** voice-line L (password as a credential) ← voice-events E → sink H. */
    async function loadFlow(password: string, props: Record<string, unknown> = {}): Promise<Inbox> {
      const range = rtpRange();
      const flow: FlowNode[] = [
        { id: 'L', type: 'voice-line', name: 'alice', backend: 'sip', server: kamailio.address, transport: 'udp', username: 'alice', register: true, localPort: '', rtpPortMin: String(range.rtpPortMin), rtpPortMax: String(range.rtpPortMax), ...props },
        voiceNode('E', 'voice-events', 'L', [['H']]),
        sink('H'),
      ];
      await helper.load(NODES, flow, { L: { password } });
      return new Inbox('H');
    }

    /** Everything the flow showed or said: messages, statuses and errors of its nodes, the log. */
    function everythingSaid(inbox: Inbox): string[] {
      const logged = helper.log().args.map((args: unknown[]) => args.map((a) => (a && typeof a === 'object' ? JSON.stringify(a, replaceErrors) : String(a))).join(' '));
      return [
        ...inbox.messages.map((m) => JSON.stringify(m)),
        ...['L', 'E'].flatMap((id) => statusesOf(id).map((s) => s.text ?? '')),
        ...['L', 'E'].flatMap((id) => errorsOf(id).map((e) => String(e))),
        ...logged,
        JSON.stringify(helper._redNodes.getFlows().flows),
      ];
    }

    it('a wrong password: the sink gets `registration-failed` with payload.code 401/403, the node shows it, never the password', async () => {
      const inbox = await loadFlow(WRONG);
      const failed = await inbox.next('registration-failed', (m) => m.topic === 'registration-failed', WAIT_MS);
      assert.ok(failed.payload.code === 401 || failed.payload.code === 403, `code ${String(failed.payload.code)}`);
      assert.equal(failed.payload.authFailed, true);
      assert.match(String(failed.payload.text), /password/);
      // The node using the line shows why, in the words that matter before the status is cut short.
      const shown = statusesOf('E').map((s) => s.text ?? '');
      assert.ok(shown.some((t) => /^error: username or password refused/.test(t)), `statuses: ${shown.join(' | ')}`);
      assert.equal(inbox.topics().includes('registered'), false);
      assert.equal(lineOf('L').credentials.password, WRONG, 'the core got the credential');
      const said = everythingSaid(inbox);
      assert.ok(said.some((t) => /username or password refused/.test(t)), 'the log and statuses were captured');
      assert.deepEqual(leaks(said), [], 'nothing the flow said carries the password');
    });

    it('Kamailio restarted: the sink gets `line-down` and `registered` again without a redeploy, and a call from baresip through Kamailio is answered', async () => {
      const inbox = await loadFlow(PASSWORD, { transport: 'tcp' });
      await inbox.next('registered', (m) => m.topic === 'registered', WAIT_MS);
      assert.equal(statusesOf('E').at(-1)?.text, 'ready');
      const line = lineOf('L');
      await kamailio.restart();
      await inbox.next('line-down', (m) => m.topic === 'line-down', WAIT_MS);
      // The second `registered`: after the line-down.
      await waitFor('registered again', () => inbox.topics().lastIndexOf('registered') > inbox.topics().indexOf('line-down'), 30_000);
      assert.equal(lineOf('L'), line, 'the same line: nothing was redeployed');
      assert.equal(statusesOf('E').at(-1)?.text, 'ready');
      assert.equal((await kamailio.contacts('alice')).length, 1);
      await callFromBob(
        async (m) => {
          await line.answer(m.call?.id);
        },
        () => inbox.next('incoming', (m) => m.topic === 'incoming', WAIT_MS),
      );
      const ended = await inbox.next('ended', (m) => m.topic === 'ended', WAIT_MS);
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
      assert.deepEqual(leaks(everythingSaid(inbox)), [], 'nothing the flow said carries the password');
      // Closing the flow unregisters.
      await helper.unload();
      assert.deepEqual(await kamailio.contacts('alice'), []);
    });
  });
});
