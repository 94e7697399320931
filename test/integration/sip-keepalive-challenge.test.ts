/**
 * Keep-alive OPTIONS to a registrar that challenges them (issue 11 part 6): Kamailio on 127.0.0.1
 * answering OPTIONS to itself with 401 unless they carry credentials. A challenge is an answer (the
 * server is there): one OPTIONS per keep-alive, never a second one answering the challenge, and the
 * line stays ready. Kamailio's own log counts what reached it.
 */
import assert from 'node:assert/strict';
import { SipAgentState, SipUserAgent } from '../../lib/sip/sip-user-agent';
import { memoryLog } from '../helpers/at-harness';
import { Kamailio, requirePeer } from '../helpers/sip-peers';

describe('SIP keep-alive OPTIONS to a registrar that challenges them, against Kamailio (integration)', function () {
  this.timeout(60_000);
  let kamailio: Kamailio;
  let agent: SipUserAgent | undefined;
  const log = memoryLog();

  before(async function () {
    requirePeer(this, 'kamailio', 'kamcmd');
    kamailio = await Kamailio.start({ users: { alice: 'alice-pw' }, challengeOptions: true });
  });

  after(async () => {
    await agent?.stop();
    await kamailio?.stop();
  });

  it('one OPTIONS a keep-alive (the 401 is the answer); the line stays registered', async () => {
    agent = new SipUserAgent({ server: kamailio.address, username: 'alice', password: 'alice-pw', keepAliveSeconds: 1, keepAliveTimeoutMs: 800, log });
    const registered = new Promise((resolve) => agent!.once('registered', resolve));
    await agent.start();
    await registered;
    const before = (kamailio.log().match(/request OPTIONS /g) ?? []).length;
    await new Promise((r) => setTimeout(r, 4500));
    const options = (kamailio.log().match(/request OPTIONS /g) ?? []).length - before;
    // 4.5 s at one keep-alive a second: 3 to 5 keep-alives; answering each challenge would double them.
    assert.ok(options >= 3 && options <= 5, `${options} OPTIONS reached Kamailio in 4.5 s\n${kamailio.log().slice(-2000)}`);
    assert.equal(agent.state, SipAgentState.Ready);
  });
});
