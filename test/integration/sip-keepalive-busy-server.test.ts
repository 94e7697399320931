/**
 * The keep-alive and a server too busy to answer an OPTIONS in time (issue 12: at 500–1000 calls
 * SIPp, the bench's server, answered the line's OPTIONS late while it went on sending INVITEs and
 * BYEs; the line called the server lost and refused calls, "the line is not ready (the server ...
 * does not answer)"). Anything the server sends while the line waits for the answer shows it is
 * there, as the answer would.
 *
 * The server is a bare UDP socket on loopback, so that what it does is exactly what the test says:
 * it never answers our OPTIONS; while "busy" it sends the line a request of its own (an OPTIONS,
 * which the line answers) every 150 ms, from the address the line knows it by.
 */
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { SipAgentState, SipUserAgent } from '../../lib/sip/sip-user-agent';
import { memoryLog } from '../helpers/at-harness';
import { buildRequest, parseRawSip, token } from '../helpers/raw-sip';
import { LOOPBACK } from '../helpers/sip-peers';

describe('SIP keep-alive: a busy server that sends but does not answer the OPTIONS in time', function () {
  this.timeout(20_000);
  let server: Socket;
  let agent: SipUserAgent | undefined;
  let talking: NodeJS.Timeout | undefined;

  beforeEach(async () => {
    server = createSocket('udp4');
    server.bind(0, LOOPBACK);
    await once(server, 'listening');
  });
  afterEach(async () => {
    clearInterval(talking);
    await agent?.stop();
    agent = undefined;
    server.close();
  });

  it('the line stays ready while the server sends it requests, and calls it lost once it falls silent', async () => {
    const pings: string[] = [];
    let answered = 0;
    server.on('message', (data) => {
      const m = parseRawSip(data.toString());
      if (m.method === 'OPTIONS') pings.push(m.header('call-id')); // never answered
      if (m.status === 200) answered++;
    });
    agent = new SipUserAgent({
      server: `${LOOPBACK}:${server.address().port}`,
      register: false,
      username: 'trunk',
      keepAliveSeconds: 0.3,
      keepAliveTimeoutMs: 600,
      timers: { t1Ms: 100, t2Ms: 400 },
      log: memoryLog(),
    });
    const states: Array<{ state: string; text: string }> = [];
    agent.on('state', (s: { state: string; text: string }) => states.push(s));
    await agent.start();
    assert.equal(agent.state, SipAgentState.Ready);
    const readyAt = states.length;
    const linePort = agent.transport?.local?.port as number;
    assert.ok(linePort > 0, 'the line has a local port');

    // Busy: a request of the server's every 150 ms, for 3 s (several keep-alive rounds of 0.3 + 0.6 s).
    let cseq = 1;
    const callId = `busy-${token()}`;
    talking = setInterval(() => {
      const request = buildRequest({
        method: 'OPTIONS',
        ruri: `sip:trunk@${LOOPBACK}:${linePort}`,
        via: { host: LOOPBACK, port: server.address().port },
        callId,
        cseq: cseq++,
        fromUser: 'server',
        to: `sip:trunk@${LOOPBACK}`,
      });
      server.send(request, linePort, LOOPBACK);
    }, 150);
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(new Set(pings).size >= 2, `the line kept pinging (${new Set(pings).size} OPTIONS of its own)`);
    assert.ok(answered >= 10, `the line answered the server's requests (${answered})`);
    assert.deepEqual(
      states.slice(readyAt).filter((s) => s.state !== 'ready'),
      [],
      'the line never left ready while the server was sending',
    );
    assert.equal(agent.state, SipAgentState.Ready);

    // Silent: no answer and nothing else: the server is lost within a keep-alive round.
    clearInterval(talking);
    const lost = Date.now();
    while (agent.state === SipAgentState.Ready && Date.now() - lost < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(agent.state, SipAgentState.Retrying);
    assert.match(states[states.length - 1].text, /the server 127\.0\.0\.1:\d+ does not answer/);
  });
});
