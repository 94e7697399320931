/**
 * Registration against a real registrar: Kamailio (digest auth, no database) on loopback, started by
 * the tests on ports they pick. What reached the registrar is checked in its location table
 * (`kamcmd ul.dump`), not only our own events.
 */
import assert from 'node:assert/strict';
import { SipAgentState, SipUserAgent, SipUserAgentOptions } from '../../lib/sip/sip-user-agent';
import { memoryLog } from '../helpers/at-harness';
import { Kamailio, pickPorts, requirePeer, waitFor } from '../helpers/sip-peers';

const PASSWORD = 'alice-Secret-42';

/** Resolves with the next `name` event of the agent (rejects after timeoutMs). */
function next<T = Record<string, unknown>>(agent: SipUserAgent, name: string, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      agent.off(name, on);
      reject(new Error(`no ${name} event within ${timeoutMs} ms (state ${agent.state})`));
    }, timeoutMs);
    const on = (payload: T): void => {
      clearTimeout(timer);
      agent.off(name, on);
      resolve(payload);
    };
    agent.on(name, on);
  });
}

describe('SIP registration against Kamailio (integration)', function () {
  this.timeout(60_000);
  let kamailio: Kamailio;
  const agents: SipUserAgent[] = [];
  const log = memoryLog();

  before(async function () {
    requirePeer(this, 'kamailio', 'kamcmd');
    kamailio = await Kamailio.start({ users: { alice: PASSWORD, bob: 'bob-pw' } });
  });

  after(async () => {
    await kamailio?.stop();
  });

  afterEach(async function () {
    for (const a of agents.splice(0)) await a.stop();
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      console.log(kamailio?.log().slice(-3000));
    }
    if (kamailio && !kamailio.running) await kamailio.restart();
  });

  function agent(options: Partial<SipUserAgentOptions>): SipUserAgent {
    const a = new SipUserAgent({
      server: kamailio.address,
      username: 'alice',
      password: PASSWORD,
      retryMinMs: 100,
      retryMaxMs: 1000,
      keepAliveSeconds: 0,
      log,
      ...options,
    });
    agents.push(a);
    return a;
  }

  for (const transport of ['udp', 'tcp'] as const) {
    describe(`over ${transport.toUpperCase()}`, () => {
      it('registers: the registrar holds our Contact, with our port and transport', async () => {
        const a = agent({ transport });
        const registered = next(a, 'registered');
        await a.start();
        const event = await registered;
        assert.equal(a.state, SipAgentState.Ready);
        assert.equal(event.aor, 'sip:alice@127.0.0.1');
        assert.equal(event.expires, 600);
        const port = a.transport?.local?.port;
        assert.ok(port);
        assert.equal(event.contact, `<sip:alice@127.0.0.1:${port};transport=${transport}>`);
        assert.deepEqual(await kamailio.contacts('alice'), [`sip:alice@127.0.0.1:${port};transport=${transport}`]);
      });

      it('unregisters on close: the registrar no longer has the Contact', async () => {
        const a = agent({ transport });
        const registered = next(a, 'registered');
        await a.start();
        await registered;
        assert.equal((await kamailio.contacts('alice')).length, 1);
        const unregistered = next(a, 'unregistered');
        await a.stop();
        assert.deepEqual(await unregistered, { reason: 'closed', code: 200 });
        assert.equal(a.state, SipAgentState.Stopped);
        assert.deepEqual(await kamailio.contacts('alice'), []);
      });

      it('a wrong password gives registration-failed with the code, and nothing is registered', async () => {
        const a = agent({ transport, password: 'not-the-password', traceSip: true });
        const failed = next<{ code: number; authFailed: boolean; text: string }>(a, 'registration-failed');
        let registered = false;
        a.on('registered', () => (registered = true));
        await a.start();
        const event = await failed;
        assert.ok(event.code === 401 || event.code === 403, `code ${event.code}`);
        assert.equal(event.authFailed, true);
        assert.match(event.text, /username and password/);
        assert.equal(a.state, SipAgentState.Retrying);
        assert.equal(registered, false);
        assert.deepEqual(await kamailio.contacts('alice'), []);
        // Neither password appears in the log.
        assert.ok(!log.lines.some((l) => l.includes('not-the-password') || l.includes(PASSWORD)));
      });

      it('registers again after Kamailio is killed and restarted, with the same agent', async () => {
        const a = agent({ transport, keepAliveSeconds: 0.5, keepAliveTimeoutMs: 1000, timers: { t1Ms: 100, t2Ms: 400 } });
        const registered = next(a, 'registered');
        await a.start();
        await registered;
        const lost = next<{ reason: string }>(a, 'unregistered');
        await kamailio.kill();
        const event = await lost;
        assert.match(event.reason, transport === 'tcp' ? /connection .* lost/ : /does not answer/);
        assert.notEqual(a.state, SipAgentState.Ready);
        const again = next(a, 'registered', 30_000);
        await kamailio.restart();
        await again;
        assert.equal(a.state, SipAgentState.Ready);
        const port = a.transport?.local?.port;
        assert.deepEqual(await kamailio.contacts('alice'), [`sip:alice@127.0.0.1:${port};transport=${transport}`]);
      });
    });
  }

  it('after a reconnect from a new port, replaces the old binding instead of leaving it behind', async () => {
    const a = agent({ transport: 'tcp' });
    const registered = next(a, 'registered');
    await a.start();
    await registered;
    const firstPort = a.transport?.local?.port;
    const again = next(a, 'registered');
    await a.transport?.disconnect(); // the connection goes away; the agent reconnects from a new port
    await again;
    const port = a.transport?.local?.port;
    assert.notEqual(port, firstPort);
    assert.deepEqual(await kamailio.contacts('alice'), [`sip:alice@127.0.0.1:${port};transport=tcp`]);
  });

  it('refreshes the registration before it expires', async () => {
    const a = agent({ expires: 2 });
    const first = next<{ expires: number }>(a, 'registered');
    await a.start();
    assert.equal((await first).expires, 2);
    const refreshed = next<{ expires: number }>(a, 'registered', 5000);
    assert.equal((await refreshed).expires, 2);
    assert.equal(a.state, SipAgentState.Ready);
    // Still registered after the first expiry would have passed.
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await kamailio.contacts('alice')).length, 1);
  });

  it('trunk mode (register: false) is ready without registering, and notices the server going away', async () => {
    const a = agent({ register: false, keepAliveSeconds: 0.5, keepAliveTimeoutMs: 1000, timers: { t1Ms: 100, t2Ms: 400 } });
    const ready = new Promise<void>((resolve) => a.on('state', (s: { state: string }) => s.state === 'ready' && resolve()));
    await a.start();
    await ready;
    assert.deepEqual(await kamailio.contacts('alice'), []);
    const retrying = new Promise<string>((resolve) => a.on('state', (s: { state: string; text: string }) => s.state === 'retrying' && resolve(s.text)));
    await kamailio.kill();
    assert.match(await retrying, /does not answer/);
    const back = new Promise<void>((resolve) => a.on('state', (s: { state: string }) => s.state === 'ready' && resolve()));
    await kamailio.restart();
    await back;
  });

  it('a server that is not there is a retrying state, not an error, and start() still resolves', async () => {
    const port = await pickPorts(1);
    const a = agent({ server: `127.0.0.1:${port}`, transport: 'tcp' });
    const states: string[] = [];
    a.on('state', (s: { state: string }) => states.push(s.state));
    await a.start();
    assert.equal(a.state, SipAgentState.Retrying);
    await waitFor('a second attempt', () => states.filter((s) => s === 'retrying').length >= 2, 5000);
    assert.deepEqual(states.slice(0, 4), ['connecting', 'retrying', 'connecting', 'retrying']);
  });
});
