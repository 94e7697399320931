import assert from 'node:assert/strict';
import { lossRatio } from '../../lib/call/media-stats';
import { InterarrivalJitter } from '../../lib/media/interarrival-jitter';

describe('InterarrivalJitter (RFC 3550 §6.4.1)', function () {
  it('packets that arrive exactly as their timestamps say: 0 ms', function () {
    const j = new InterarrivalJitter();
    for (let i = 0; i < 100; i++) j.push(1000 + i * 20, 5000 + i * 160);
    assert.equal(j.ms, 0);
  });

  it('arrivals alternately 10 ms late and on time converge to 10 ms (|D| is 10 ms each packet)', function () {
    const j = new InterarrivalJitter();
    for (let i = 0; i < 400; i++) j.push(i * 20 + (i % 2) * 10, i * 160);
    assert.ok(Math.abs(j.ms - 10) < 0.05, `${j.ms} ms`);
  });

  it('one late packet: J jumps by |D|/16, then decays', function () {
    const j = new InterarrivalJitter();
    j.push(0, 0);
    j.push(36, 160); // 16 ms later than its timestamp says: D = 16 ms
    assert.equal(j.ms, 1);
    j.push(40, 320); // back on time: D = -16 ms
    assert.equal(j.ms, 1.94);
    for (let i = 3; i < 200; i++) j.push(i * 20, i * 160);
    assert.ok(j.ms < 0.01, `${j.ms} ms`);
  });

  it('RTP timestamps that wrap past 2^32 are still 20 ms apart', function () {
    const j = new InterarrivalJitter();
    const start = 2 ** 32 - 480;
    for (let i = 0; i < 10; i++) j.push(i * 20, (start + i * 160) % 2 ** 32);
    assert.equal(j.ms, 0);
  });

  it('restart() (a new SSRC) forgets the last transit: a stream with another timestamp origin adds no jitter', function () {
    const j = new InterarrivalJitter();
    for (let i = 0; i < 5; i++) j.push(i * 20, i * 160);
    j.restart();
    for (let i = 5; i < 10; i++) j.push(i * 20, 900_000 + i * 160);
    assert.equal(j.ms, 0);
  });

  it('refuses a clock rate that is not a whole number above 0', function () {
    assert.throws(() => new InterarrivalJitter(0), { name: 'TypeError', message: /"clockRate" must be a whole number above 0/ });
  });
});

describe('lossRatio', function () {
  it('lost / (received + lost), 4 decimals; 0 when nothing was expected', function () {
    assert.equal(lossRatio(0, 0), 0);
    assert.equal(lossRatio(99, 1), 0.01);
    assert.equal(lossRatio(2, 1), 0.3333);
    assert.equal(lossRatio(0, 5), 1);
  });
});
