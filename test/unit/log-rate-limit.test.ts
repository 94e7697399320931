import assert from 'node:assert/strict';
import { LogRateLimiter } from '../../lib/log-rate-limit';

describe('LogRateLimiter: malformed traffic cannot write the log', () => {
  function limiter(windowMs = 10_000): { lines: string[]; limit: LogRateLimiter; clock: { t: number } } {
    const lines: string[] = [];
    const clock = { t: 1_000_000 };
    const limit = new LogRateLimiter({ write: (l) => lines.push(l), what: 'malformed SIP messages', burst: 3, windowMs, now: () => clock.t });
    return { lines, limit, clock };
  }

  it('2,000 messages from one source in a window: the first 3 lines, then one count', () => {
    const { lines, limit } = limiter();
    for (let i = 0; i < 2000; i++) limit.note('10.0.0.7:5060', () => `bad message ${i}`);
    assert.deepEqual(lines, ['bad message 0', 'bad message 1', 'bad message 2']);
    limit.close();
    assert.deepEqual(lines.slice(3), ['1997 more malformed SIP messages from 10.0.0.7:5060 in the last 10 s']);
  });

  it('counts each source on its own; a new window writes lines again, after the count of the old one', () => {
    const { lines, limit, clock } = limiter();
    for (let i = 0; i < 5; i++) limit.note('a', () => `a${i}`);
    for (let i = 0; i < 4; i++) limit.note('b', () => `b${i}`);
    assert.deepEqual(lines, ['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    clock.t += 10_000;
    limit.note('a', () => 'a-next');
    assert.deepEqual(lines.slice(6), ['2 more malformed SIP messages from a in the last 10 s', 'a-next']);
    limit.close();
    assert.deepEqual(lines.slice(8), ['1 more malformed SIP messages from b in the last 10 s']);
  });

  it('builds the line only when it is written', () => {
    const { limit } = limiter();
    let built = 0;
    for (let i = 0; i < 100; i++) limit.note('x', () => String(++built));
    assert.equal(built, 3);
    limit.close();
  });

  it('writes the count when the window ends, by itself, and keeps no timer once nothing waits', async () => {
    const lines: string[] = [];
    const limit = new LogRateLimiter({ write: (l) => lines.push(l), what: 'malformed RTP packets', burst: 1, windowMs: 30 });
    for (let i = 0; i < 10; i++) limit.note('1.2.3.4:4000', () => 'first');
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(lines, ['first', '9 more malformed RTP packets from 1.2.3.4:4000 in the last 30 ms']);
    const before = timers();
    limit.close();
    assert.equal(timers(), before, 'no timer left to stop');
  });
});
