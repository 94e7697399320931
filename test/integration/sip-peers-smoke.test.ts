/**
 * The test peers themselves (test/helpers/sip-peers.ts): each starts on loopback on ports it picked,
 * does the one thing later interop tests rely on, and stops without leaving a process behind.
 */
import assert from 'node:assert/strict';
import { Baresip, Kamailio, LOOPBACK, Sipp, requirePeer, udpOptions, waitFor } from '../helpers/sip-peers';

describe('SIP test peers (smoke)', function () {
  this.timeout(60_000);
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  describe('Kamailio', () => {
    before(function () {
      requirePeer(this, 'kamailio', 'kamcmd');
    });

    it('answers OPTIONS on its port, is gone when killed, and comes back on the same port', async () => {
      const k = await Kamailio.start({ users: { alice: 'pw' } });
      stops.push(() => k.stop());
      assert.match(String(await udpOptions(k.port)), /^SIP\/2\.0 200 Keepalive/);
      assert.deepEqual(await k.contacts('alice'), []);
      await k.kill();
      assert.equal(await udpOptions(k.port), undefined);
      await k.restart();
      assert.match(String(await udpOptions(k.port)), /^SIP\/2\.0 200/);
    });
  });

  describe('SIPp', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('a built-in UAC completes one call with a built-in UAS (exit code 0)', async () => {
      const uas = await Sipp.start({ scenario: 'uas' });
      stops.push(() => uas.stop());
      const uac = await Sipp.start({ scenario: 'uac', remote: uas.address, calls: 1, extraArgs: ['-d', '100'] });
      stops.push(() => uac.stop());
      assert.equal(await uac.exitCode(), 0, uac.process.text().slice(-2000));
    });
  });

  describe('baresip over ctrl_tcp', () => {
    before(function () {
      requirePeer(this, 'baresip', 'sipp');
    });

    it('dials a SIPp UAS, reports the call established, hangs up on command', async () => {
      const uas = await Sipp.start({ scenario: 'uas' });
      stops.push(() => uas.stop());
      const b = await Baresip.start({ account: `<sip:bob@${LOOPBACK}>;regint=0` });
      stops.push(() => b.stop());
      const dial = await b.command('dial', `sip:service@${uas.address}`);
      assert.equal(dial.ok, true);
      const established = await b.nextEvent('CALL_ESTABLISHED');
      assert.equal(established.peeruri, `sip:service@${uas.address}`);
      assert.equal((await b.command('hangup')).ok, true);
      await b.nextEvent('CALL_CLOSED');
    });

    it('registers with Kamailio (digest auth): the registrar holds its contact', async function () {
      requirePeer(this, 'kamailio', 'kamcmd');
      const k = await Kamailio.start({ users: { bob: 'bob-pw' } });
      stops.push(() => k.stop());
      const b = await Baresip.start({ account: `<sip:bob@${k.address}>;auth_pass=bob-pw;regint=60` });
      stops.push(() => b.stop());
      // baresip registers at start-up, before ctrl_tcp has a client to tell: ask the registrar.
      await waitFor('bob registered', async () => (await k.contacts('bob')).length === 1);
      const contacts = await k.contacts('bob');
      // baresip makes its Contact user unique (bob-0x...).
      assert.match(contacts[0], new RegExp(`^sip:bob[^@]*@127\\.0\\.0\\.1:${b.sipPort}\\b`));
    });
  });
});
