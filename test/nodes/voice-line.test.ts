import assert from 'node:assert/strict';
import { FlowNode, Inbox, NODES, emulatorOf, getNode, lastStatus, nextError, statusesOf, helper, lineNode, lineOf, sink, voiceNode, waitFor, waitReady } from './flow-helpers';
import { pickPorts } from '../helpers/sip-peers';

// Eight digits: a shorter PIN could turn up by chance in a message's timestamps or ids, and fail the test for nothing.
const PIN = '86420975';
/** The editor's line directory (nodes/shared/line-directory.ts) listens to every deployed line too. */
const DIRECTORY = 1;

describe('voice-line (config node)', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('hands the PIN to the line as a credential, and never shows it in the flow, a status or a log', async function () {
    const flow = [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']]), sink('H')];
    await helper.load(NODES, flow, { L: { pin: PIN } });
    const inbox = new Inbox('H');
    await inbox.next('line-up', (m) => m.topic === 'line-up');

    const line = lineOf('L');
    assert.equal(line.credentials.pin, PIN, 'the core got the PIN');
    assert.equal(JSON.stringify(line.config).includes(PIN), false, 'the line settings carry no PIN');
    assert.equal(JSON.stringify(helper._redNodes.getFlows().flows).includes(PIN), false, 'the flow JSON carries no PIN');
    const statuses = statusesOf('E').map((s) => s.text ?? '');
    assert.ok(statuses.includes('ready'));
    assert.equal(statuses.some((t) => t.includes(PIN)), false, 'no status shows the PIN');
    assert.equal(inbox.messages.some((m) => JSON.stringify(m).includes(PIN)), false, 'no message carries the PIN');
    const logged = helper.log().args.map((args: unknown[]) => args.map((a) => (a && typeof a === 'object' ? JSON.stringify(a, replaceErrors) : String(a))).join(' '));
    assert.ok(logged.length > 0, 'the log spy saw the line connect');
    assert.deepEqual(logged.filter((t: string) => t.includes(PIN)), [], 'no log line shows the PIN');
  });

  it('shows bad settings on the nodes that use the line, and fails their messages', async function () {
    const flow = [lineNode('L', { autoAnswer: -1 }), voiceNode('D', 'voice-dial', 'L', [[], []], { number: '5551234', ringTimeout: 30 })];
    await helper.load(NODES, flow);
    assert.equal(getNode('L').line, undefined, 'no line was made');
    assert.match(statusesOf('D').at(-1)?.text ?? '', /^error: auto-answer must be/);
    getNode('D').receive({ payload: 'go' });
    const err = await nextError('D');
    assert.match(String(err), /the line cannot be used: auto-answer must be/);
  });

  it('is released by a full redeploy: every listener removed, the port closed, and opened again by the next deploy', async function () {
    const flow = () => [
      lineNode('L'),
      voiceNode('E', 'voice-events', 'L', [['H']]),
      voiceNode('D', 'voice-dial', 'L', [[], []], { number: '', ringTimeout: 30 }),
      voiceNode('A', 'voice-answer', 'L', [[]]),
      voiceNode('X', 'voice-hangup', 'L', [[]], { mode: 'hangup', cause: 'busy' }),
      sink('H'),
    ];
    await helper.load(NODES, flow());
    await waitReady('L');
    const first = lineOf('L');
    assert.equal(first.userCount, 4);
    assert.equal(first.listenerCount('event'), 4 + DIRECTORY);
    assert.equal(first.listenerCount('status'), 4 + DIRECTORY);

    await helper.unload();
    assert.equal(first.listenerCount('event'), 0, 'every event listener removed');
    assert.equal(first.listenerCount('status'), 0, 'every status listener removed');
    assert.equal(first.userCount, 0);
    assert.equal(first.status.state, 'closed');
    assert.equal(first.backend, null, 'the port was closed');

    await helper.load(NODES, flow());
    await waitReady('L');
    const second = lineOf('L');
    assert.notEqual(second, first);
    assert.equal(second.listenerCount('event'), 4 + DIRECTORY);
  });

  it('survives a redeploy of one user node: the line is released, then acquired again', async function () {
    const flow = (name: string) => [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']], { name }), sink('H')];
    await helper.load(NODES, flow('before'));
    await waitReady('L');
    const line = lineOf('L');
    await helper.setFlows(flow('after'), 'nodes');
    await waitFor('the line ready again', () => line.status.state === 'ready' && line.userCount === 1, 8000);
    assert.equal(lineOf('L'), line, 'the config node was not restarted');
    assert.equal(line.listenerCount('event'), 1 + DIRECTORY, 'the old node left no listener behind');
    const inbox = new Inbox('H');
    emulatorOf('L').incomingCall('5550100');
    await inbox.next('the new node sends', (m) => m.topic === 'incoming');
  });
});

describe('voice-line (config node), SIP settings', function () {
  const PASSWORD = 'sip-Secret-9931';

  afterEach(async function () {
    await helper.unload();
  });

  /** A SIP line in trunk mode over UDP (ready without a server answering) on a picked port. */
  async function sipLine(props: Record<string, unknown> = {}): Promise<FlowNode> {
    const port = await pickPorts(2);
    return {
      id: 'L', type: 'voice-line', name: 'sip line', backend: 'sip', server: `127.0.0.1:${port + 1}`, transport: 'udp', username: '1001',
      register: false, localPort: port, rtpPortMin: 41000, rtpPortMax: 41015, autoAnswer: 0, autoReject: false, ...props,
    };
  }

  it('hands every SIP setting to the core as typed values, and the password only as a credential', async function () {
    const flow = [
      await sipLine({
        displayName: 'Front Desk', outboundProxy: ' 127.0.0.1:5099 ', codecs: 'PCMA,PCMU', dtmfMode: 'info', maxCalls: '3', incomingRefer: 'follow', tlsVerify: false, tlsCa: '',
        sessionExpires: '600', sessionRefresher: 'us',
      }),
      voiceNode('E', 'voice-events', 'L', [['H']]),
      sink('H'),
    ];
    await helper.load(NODES, flow, { L: { password: PASSWORD } });
    await waitReady('L');
    const line = lineOf('L');
    const c = line.config;
    assert.deepEqual(
      [c.backend, c.displayName, c.outboundProxy, c.codecs, c.dtmfMode, c.maxCalls, c.incomingRefer, c.tlsVerify, c.tlsCa, c.sessionExpires, c.sessionRefresher],
      ['sip', 'Front Desk', '127.0.0.1:5099', 'PCMA,PCMU', 'info', 3, 'follow', false, undefined, 600, 'us'],
    );
    // ... and on to the backend's session timers.
    const timers = (line.backend as unknown as { extra: Array<{ name: string; settings?: unknown }> }).extra.find((f) => f.name === 'session-timer');
    assert.deepEqual(timers?.settings, { expires: 600, minSe: 90, refresher: 'us' });
    assert.equal(line.credentials.password, PASSWORD, 'the core got the password');
    assert.equal(JSON.stringify(c).includes(PASSWORD), false, 'the line settings carry no password');
    assert.equal(JSON.stringify(helper._redNodes.getFlows().flows).includes(PASSWORD), false, 'the flow JSON carries no password');
    assert.equal(statusesOf('E').some((s) => (s.text ?? '').includes(PASSWORD)), false, 'no status shows the password');
    const logged = JSON.stringify(helper.log().args);
    assert.equal(logged.includes(PASSWORD), false, 'no log line shows the password');
  });

  it('a flow saved before these settings existed gets the defaults: certificate checked, the rest the core\'s', async function () {
    await helper.load(NODES, [await sipLine(), voiceNode('E', 'voice-events', 'L', [['H']]), sink('H')]);
    await waitReady('L');
    const c = lineOf('L').config;
    assert.deepEqual(
      [c.outboundProxy, c.codecs, c.dtmfMode, c.maxCalls, c.incomingRefer, c.tlsVerify, c.tlsCa, c.sessionExpires, c.sessionRefresher],
      [undefined, undefined, undefined, undefined, undefined, true, undefined, undefined, undefined],
    );
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['codecs', { codecs: 'PCMU,G729' }, /^the codecs setting names "G729", which this line cannot use/],
    ['DTMF mode', { dtmfMode: 'tones' }, /^the DTMF mode must be one of rfc4733, info, inband, got string tones$/],
    ['maximum calls', { maxCalls: '-2' }, /^the maximum number of calls must be a whole number, 0 for no limit, got -2$/],
    ['incoming REFER', { incomingRefer: 'accept' }, /^the incoming REFER setting must be one of follow, refuse/],
    ['session expiry', { sessionExpires: '60' }, /^the session expiry must be a whole number of seconds from 90 to 86400, or 0 for none, got number 60$/],
    ['session refresher', { sessionRefresher: 'me' }, /^the session refresher must be one of auto, us, them, got string me$/],
    ['outbound proxy', { outboundProxy: 'not a host' }, /^the outbound proxy must be host\[:port\]/],
    ['TLS CA file', { transport: 'tls', tlsCa: '/nonexistent/voice-ca.pem' }, /^the TLS CA file "\/nonexistent\/voice-ca\.pem" cannot be read: there is no such file$/],
  ];
  for (const [what, props, reason] of refused) {
    it(`shows a bad ${what} as the error of the nodes that use the line, and fails their messages naming it`, async function () {
      await helper.load(NODES, [await sipLine(props), voiceNode('D', 'voice-dial', 'L', [[], []], { number: '2002', ringTimeout: 30 })], { L: { password: PASSWORD } });
      const line = lineOf('L');
      await waitFor('an error status', () => line.status.state === 'error' && lastStatus('D')?.fill === 'red');
      assert.match(line.status.text, reason);
      // The node shows the start of it (statuses are short); the failed message carries all of it.
      assert.ok((lastStatus('D')?.text ?? '').startsWith(`error: ${line.status.text.slice(0, 30)}`), lastStatus('D')?.text);
      getNode('D').receive({ payload: 'go' });
      const err = await nextError('D');
      assert.equal(String(err), `the line is not ready (${line.status.text})`);
      assert.equal(String(err).includes(PASSWORD), false);
    });
  }
});

function replaceErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
