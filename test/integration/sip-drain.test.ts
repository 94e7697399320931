/**
 * A SIP line's health as a proxy in front sees it (issue 11 part 6, issue 14 part 1; docs/scale-out.md):
 * OPTIONS to any Request-URI of ours answered 200 (registered behind Kamailio, and in trunk mode),
 * draining (503 to new INVITEs and to OPTIONS with the calls in progress in `X-Calls`, the call in
 * progress going on to its end, then `drained`), undraining (`line-up`, calls taken again), and trunk
 * mode's list of trusted sources (a call from a listed source taken, from another refused 403).
 * The calls are SIPp's (its exit code says whether its scenario went as expected).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { interopHarness, INTEROP_WAIT_MS } from '../helpers/interop-harness';
import { buildRequest, parseRawSip, RawSipMessage, token } from '../helpers/raw-sip';
import { Kamailio, LOOPBACK, pickPorts, requirePeer, waitFor } from '../helpers/sip-peers';

/** Sends one OPTIONS to `port` on 127.0.0.1 with Request-URI `ruri`; resolves with the answer. */
function options(port: number, ruri: string): Promise<RawSipMessage> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer to OPTIONS ${ruri} within 3 s`));
    }, 3000);
    socket.on('message', (data) => {
      clearTimeout(timer);
      socket.close();
      resolve(parseRawSip(data.toString('latin1')));
    });
    socket.bind(0, LOOPBACK, () => {
      const local = socket.address().port;
      socket.send(buildRequest({ method: 'OPTIONS', ruri, via: { host: LOOPBACK, port: local }, callId: `opt-${token()}`, cseq: 1, to: ruri, fromUser: 'probe' }), port, LOOPBACK);
    });
  });
}

describe('SIP line health: OPTIONS, draining, trusted sources (integration, Kamailio and SIPp)', function () {
  this.timeout(60_000);
  const h = interopHarness('line-health');

  it('a registered line answers OPTIONS 200 to any Request-URI of ours, with or without a user part', async function () {
    requirePeer(this, 'kamailio');
    const kamailio = h.track(await Kamailio.start({ users: { '2001': 'secret-2001' } }), () => '');
    const { port } = await h.startLine({ server: kamailio.address, register: true, username: '2001' }, { password: 'secret-2001' });
    for (const ruri of [`sip:${LOOPBACK}:${port}`, `sip:2001@${LOOPBACK}:${port}`, `sip:somebody-else@${LOOPBACK}:${port}`]) {
      const answer = await options(port, ruri);
      assert.equal(answer.status, 200, `OPTIONS ${ruri}: ${answer.startLine}`);
      assert.match(answer.header('allow'), /INVITE/, 'Allow lists INVITE');
    }
  });

  it('draining: new calls get 503, OPTIONS 503 with X-Calls, the call in progress finishes, then drained; undrained it takes calls', async function () {
    requirePeer(this, 'sipp');
    const first = await pickPorts(1);
    const second = await pickPorts(1);
    // The server is SIPp's first port; its second port is a trusted source of the list.
    const { line, events, port } = await h.startLine({ server: `${LOOPBACK}:${first}`, autoAnswer: 1, trustedSources: `${LOOPBACK}:${second}` });
    const target = `${LOOPBACK}:${port}`;
    assert.equal((await options(port, `sip:${target}`)).status, 200, 'OPTIONS 200 before draining');

    // A call of 4 s from SIPp (it hangs up), answered by the line.
    const long = await h.startSipp({ scenario: 'uac', port: first, remote: target, calls: 1, extraArgs: ['-d', '4000', '-s', '1001'] });
    await events.next('answered', () => true, INTEROP_WAIT_MS);

    line.setDraining(true);
    const draining = await events.next('draining');
    assert.equal(draining.payload?.calls, 1, 'draining names the call in progress');
    assert.equal(line.status.state, 'draining');
    const busy = await options(port, `sip:${target}`);
    assert.equal(busy.status, 503, `OPTIONS while draining: ${busy.startLine}`);
    assert.equal(busy.header('x-calls'), '1', 'X-Calls: the calls in progress');

    // A new call from the trusted second source: refused 503, never reaches the flow.
    const refused = await h.startSipp({ scenario: 'uac', port: second, remote: target, calls: 1, extraArgs: ['-s', '1001'] });
    assert.notEqual(await refused.exitCode(), 0, 'SIPp counted the refused call as failed');
    await waitFor('the 503 logged', () => h.log.lines.some((l) => /refused a call .* with 503: the line is draining/.test(l)), 5000);
    assert.equal(events.topics().filter((t) => t === 'incoming').length, 1, 'only the first call reached the flow');

    // The call in progress goes on to its end (SIPp's BYE after 4 s: its scenario passes), then drained.
    assert.equal(await long.exitCode(), 0, 'the call in progress completed as SIPp expected');
    const drained = await events.next('drained', () => true, INTEROP_WAIT_MS);
    assert.equal(drained.payload?.calls, 0);
    assert.equal((await options(port, `sip:1001@${target}`)).header('x-calls'), '0');

    line.setDraining(false);
    await events.next('line-up', (e) => e.payload?.text === 'taking calls again');
    assert.equal(line.status.state, 'ready');
    assert.equal((await options(port, `sip:${target}`)).status, 200, 'OPTIONS 200 again');
    const again = await h.startSipp({ scenario: 'uac', port: second, remote: target, calls: 1, extraArgs: ['-d', '200', '-s', '1001'] });
    assert.equal(await again.exitCode(), 0, 'a call from the trusted second source is answered');
  });

  it('trunk mode refuses a call from a source outside the list with 403', async function () {
    requirePeer(this, 'sipp');
    const server = await pickPorts(1);
    const listed = await pickPorts(1);
    const { events, port } = await h.startLine({ server: `${LOOPBACK}:${server}`, autoAnswer: 1, trustedSources: `${LOOPBACK}:${listed}, 192.0.2.1` });
    const stranger = await h.startSipp({ scenario: 'uac', remote: `${LOOPBACK}:${port}`, calls: 1, extraArgs: ['-s', '1001'] });
    assert.notEqual(await stranger.exitCode(), 0);
    await waitFor('the 403 logged', () => h.log.lines.some((l) => /with 403: trunk mode takes calls from 127\.0\.0\.1:\d+ or 127\.0\.0\.1:\d+ or 192\.0\.2\.1 only/.test(l)), 5000);
    assert.deepEqual(events.topics().filter((t) => t === 'incoming'), []);
  });

  it('refuses a trusted sources setting that is not a list of addresses, naming the entry', () => {
    const { line } = h.makeLine({ server: `${LOOPBACK}:5060`, trustedSources: '10.0.0.5:5060, bad_host!:x' }, 0);
    return line.start().then(() => {
      assert.equal(line.status.state, 'error');
      assert.match(line.status.text, /the trusted source .*bad_host!:x.* is not host\[:port\]/);
    });
  });
});
