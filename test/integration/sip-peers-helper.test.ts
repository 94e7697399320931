/**
 * The test helpers that start the real peers (test/helpers/sip-peers.ts): the ports they pick, and
 * what a peer that fails at its start says.
 */
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { LOOPBACK, pickPorts, pickSippMediaPort, requirePeer, Sipp, sippScenario } from '../helpers/sip-peers';

describe('test helpers: the peers\' ports (integration)', function () {
  it('pickPorts never hands out a port it handed out lately, even while nobody has bound it yet', async function () {
    const taken = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const base = await pickPorts(4);
      for (let p = base; p < base + 4; p++) {
        assert.ok(!taken.has(p), `port ${p} handed out twice`);
        taken.add(p);
      }
    }
  });

  it('a SIPp that cannot bind its video port (-mp + 2) fails at its start with what SIPp said', async function () {
    this.timeout(20_000);
    requirePeer(this, 'sipp');
    const media = await pickSippMediaPort();
    const holder: Socket = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(media + 2, LOOPBACK, resolve));
    try {
      await assert.rejects(
        // The scenario CI failed with: its statistics screens fill the last 2000 characters of the output.
        Sipp.start({ scenario: sippScenario('early-media-announcement-uas.xml'), calls: 1, extraArgs: ['-mp', String(media)], files: { 'announcement.ulaw': Buffer.alloc(8000, 0xff) } }),
        (err: Error) => /sipp listening/.test(err.message) && new RegExp(`Unable to bind video RTP socket \\(IP=${LOOPBACK.replace(/\./g, '\\.')}, port=${media + 2}\\)`).test(err.message),
      );
    } finally {
      holder.close();
    }
  });
});
