/**
 * RFC 4028's rules as lib/sip/session-timer-rules.ts writes them: header parsing, what our requests
 * ask, our answer to theirs (RFC 4028 §9, its table 2 for the refresher), the plan a 2xx sets, the
 * 422 retry, the refresh and expiry times, and the line settings' checks.
 */
import assert from 'node:assert/strict';
import {
  answerRequest,
  expiryDelayMs,
  listsToken,
  parseMinSe,
  parseSessionExpires,
  planFromAnswer,
  refreshDelayMs,
  requestHeaders,
  retryAfter422,
  SessionTimerSettings,
  sessionTimerSettings,
} from '../../lib/sip/session-timer-rules';

const LINE: SessionTimerSettings = { expires: 1800, minSe: 90, refresher: 'auto' };

describe('session timer rules (RFC 4028)', function () {
  describe('headers', () => {
    it('Session-Expires: the interval and a uac / uas refresher in any case, other parameters ignored', () => {
      assert.deepEqual(parseSessionExpires('90;refresher=uac'), { interval: 90, refresher: 'uac' });
      assert.deepEqual(parseSessionExpires('1800'), { interval: 1800 });
      assert.deepEqual(parseSessionExpires(' 600;refresher=UAS '), { interval: 600, refresher: 'uas' });
      assert.deepEqual(parseSessionExpires('600;foo=bar;refresher=uas'), { interval: 600, refresher: 'uas' });
      assert.deepEqual(parseSessionExpires('600;refresher=both'), { interval: 600 }, 'no refresher the RFC does not know');
    });

    it('unreadable values are undefined, not a number', () => {
      for (const bad of [undefined, '', 'abc', '-5', '90 seconds']) assert.equal(parseSessionExpires(bad), undefined, String(bad));
      for (const bad of [undefined, '', 'x', '-1']) assert.equal(parseMinSe(bad), undefined, String(bad));
      assert.equal(parseMinSe('90'), 90);
      assert.equal(parseMinSe('120;foo=1'), 120);
    });

    it('a token in comma-separated Supported / Allow values, in any case', () => {
      assert.equal(listsToken(['100rel, Timer', 'replaces'], 'timer'), true);
      assert.equal(listsToken(['INVITE, ACK, BYE'], 'UPDATE'), false);
      assert.equal(listsToken(['timers'], 'timer'), false);
    });
  });

  describe('our requests', () => {
    it('the first INVITE: our expiry, the refresher of our preference (none for auto), our Min-SE', () => {
      assert.deepEqual(requestHeaders(LINE), ['Session-Expires: 1800', 'Min-SE: 90']);
      assert.deepEqual(requestHeaders({ ...LINE, refresher: 'us' }), ['Session-Expires: 1800;refresher=uac', 'Min-SE: 90']);
      assert.deepEqual(requestHeaders({ ...LINE, refresher: 'them' }), ['Session-Expires: 1800;refresher=uas', 'Min-SE: 90']);
      assert.deepEqual(requestHeaders({ ...LINE, expires: 0 }), [], 'expiry 0 asks for none');
    });

    it('a refresh keeps the interval in force and names who refreshes, from our side as its sender', () => {
      assert.deepEqual(requestHeaders(LINE, { interval: 90, weRefresh: true }), ['Session-Expires: 90;refresher=uac', 'Min-SE: 90']);
    });
  });

  describe('our answer to their INVITE / re-INVITE / UPDATE (RFC 4028 §9)', () => {
    it('their interval and refresher, when they name one', () => {
      assert.deepEqual(answerRequest({ sessionExpires: { interval: 90, refresher: 'uac' }, supportsTimer: true }, LINE), {
        headers: ['Session-Expires: 90;refresher=uac', 'Require: timer'],
        plan: { interval: 90, weRefresh: false },
      });
      assert.deepEqual(answerRequest({ sessionExpires: { interval: 600, refresher: 'uas' }, supportsTimer: true }, LINE), {
        headers: ['Session-Expires: 600;refresher=uas'],
        plan: { interval: 600, weRefresh: true },
      });
    });

    it('below our Min-SE: 422 with our Min-SE when they support timers; raised to it when they do not (a proxy asked)', () => {
      const answer = answerRequest({ sessionExpires: { interval: 60 }, supportsTimer: true }, LINE);
      assert.ok('refuse' in answer);
      assert.equal(answer.refuse, 422);
      assert.deepEqual(answer.headers, ['Min-SE: 90']);
      assert.deepEqual(answerRequest({ sessionExpires: { interval: 60 }, supportsTimer: false }, LINE), {
        headers: ['Session-Expires: 90;refresher=uas'],
        plan: { interval: 90, weRefresh: true },
      });
    });

    it('a longer interval than ours is lowered to ours, never below their Min-SE', () => {
      assert.deepEqual(answerRequest({ sessionExpires: { interval: 7200 }, supportsTimer: true }, LINE), {
        headers: ['Session-Expires: 1800;refresher=uac', 'Require: timer'],
        plan: { interval: 1800, weRefresh: false },
      });
      const plan = answerRequest({ sessionExpires: { interval: 7200 }, minSe: 3600, supportsTimer: true }, LINE);
      assert.ok(!('refuse' in plan));
      assert.equal(plan.plan?.interval, 3600);
    });

    it('no refresher named: table 2 (they do not support timers: we refresh; they do: our preference, auto and them → they refresh)', () => {
      const ask = { sessionExpires: { interval: 600 } };
      const refresherOf = (supportsTimer: boolean, refresher: SessionTimerSettings['refresher']) => {
        const a = answerRequest({ ...ask, supportsTimer }, { ...LINE, refresher });
        return 'refuse' in a ? undefined : a.plan?.weRefresh;
      };
      assert.equal(refresherOf(false, 'them'), true);
      assert.equal(refresherOf(true, 'auto'), false);
      assert.equal(refresherOf(true, 'them'), false);
      assert.equal(refresherOf(true, 'us'), true);
    });

    it('no Session-Expires: ours is offered (at least their Min-SE); with our expiry 0, none', () => {
      assert.deepEqual(answerRequest({ supportsTimer: true }, LINE), {
        headers: ['Session-Expires: 1800;refresher=uac', 'Require: timer'],
        plan: { interval: 1800, weRefresh: false },
      });
      assert.deepEqual(answerRequest({ supportsTimer: false, minSe: 2000 }, LINE), {
        headers: ['Session-Expires: 2000;refresher=uas'],
        plan: { interval: 2000, weRefresh: true },
      });
      assert.deepEqual(answerRequest({ supportsTimer: true }, { ...LINE, expires: 0 }), { headers: [] });
    });
  });

  describe('the 2xx to our request, the 422, the clocks', () => {
    it('a 2xx sets the plan its Session-Expires says; none: no timer; no refresher: we refresh', () => {
      assert.deepEqual(planFromAnswer({ interval: 90, refresher: 'uac' }), { interval: 90, weRefresh: true });
      assert.deepEqual(planFromAnswer({ interval: 1800, refresher: 'uas' }), { interval: 1800, weRefresh: false });
      assert.deepEqual(planFromAnswer({ interval: 1800 }), { interval: 1800, weRefresh: true });
      assert.equal(planFromAnswer(undefined), undefined);
    });

    it('a 422 is retried with its Min-SE only when that is above what we asked', () => {
      assert.equal(retryAfter422(1800, 1900), 1900);
      assert.equal(retryAfter422(1800, 1800), undefined);
      assert.equal(retryAfter422(1800, undefined), undefined);
    });

    it('refresh at half the interval; expiry at the interval minus min(32 s, a third) (RFC 4028 §10)', () => {
      assert.equal(refreshDelayMs(90), 45_000);
      assert.equal(expiryDelayMs(90), 60_000);
      assert.equal(expiryDelayMs(1800), 1_768_000);
      assert.equal(expiryDelayMs(6), 4_000);
      for (const interval of [6, 90, 1800]) assert.ok(refreshDelayMs(interval) < expiryDelayMs(interval), `${interval}: the refresh comes first`);
    });
  });

  describe('line settings', () => {
    it('defaults: 1800 s, Min-SE 90, auto', () => {
      assert.deepEqual(sessionTimerSettings({}), LINE);
    });

    it('refused with the setting named: below 90, not whole, an unknown refresher', () => {
      assert.throws(() => sessionTimerSettings({ sessionExpires: 60 }), { name: 'InvalidInputError', message: /session expiry must be a whole number of seconds from 90 to 86400, or 0/ });
      assert.throws(() => sessionTimerSettings({ sessionExpires: 120.5 }), /session expiry/);
      assert.throws(() => sessionTimerSettings({ sessionExpires: '1800' }), /session expiry/);
      assert.throws(() => sessionTimerSettings({ sessionRefresher: 'me' }), { name: 'InvalidInputError', message: /session refresher must be one of auto, us, them, got string me/ });
      assert.throws(() => sessionTimerSettings({ sessionMinSe: 0 }), /smallest session interval/);
    });

    it('0 asks for none; a lower Min-SE (tests) allows a shorter expiry', () => {
      assert.equal(sessionTimerSettings({ sessionExpires: 0 }).expires, 0);
      assert.deepEqual(sessionTimerSettings({ sessionExpires: 6, sessionMinSe: 6 }), { expires: 6, minSe: 6, refresher: 'auto' });
    });
  });
});
