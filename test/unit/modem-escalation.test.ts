import { strict as assert } from 'node:assert';
import { EmulatedModem } from '../../lib/at/emulator/emulated-modem';
import { LineStatus } from '../../lib/backend';
import { FAST_MODEM, sleep } from '../helpers/at-harness';
import { LoopbackLine, loopbackLine } from '../helpers/loopback-line';

/** "state text" of each status, for readable assertions. */
const shown = (statuses: LineStatus[]): string[] => statuses.map((s) => `${s.state}: ${s.text}`);

/** Asserts that `wanted` appear in `list` in this order (other entries may come between). */
function assertInOrder(list: string[], wanted: (string | RegExp)[]): void {
  let at = 0;
  for (const w of wanted) {
    const i = list.findIndex((x, n) => n >= at && (typeof w === 'string' ? x === w : w.test(x)));
    assert.ok(i >= 0, `"${String(w)}" after position ${at} in:\n  ${list.join('\n  ')}`);
    at = i + 1;
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 4000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) assert.fail('timed out');
    await sleep(10);
  }
}

/** Resolves when the module receives `command` (the next time). */
function whenCommand(modem: EmulatedModem, command: string | RegExp): Promise<void> {
  return new Promise((resolve) => {
    const on = (line: string): void => {
      if (typeof command === 'string' ? line === command : command.test(line)) {
        modem.off('command', on);
        resolve();
      }
    };
    modem.on('command', on);
  });
}

describe('a misbehaving modem', function () {
  this.timeout(15000);
  let h: LoopbackLine | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  /** Dials and waits until the far end answered. */
  async function callUp(l: LoopbackLine) {
    const r = await l.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
    return r.call;
  }

  describe('a command that times out', () => {
    it('resyncs the channel (AT), shows it in the status, and the call goes on', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      const before = h.statuses.length;
      h.faults.dropReplies(1); // the next poll's answer is lost
      await h.status((s) => s.text === 'no answer from the modem: resyncing');
      await waitUntil(() => h!.statuses.length >= before + 2 && h!.statuses.at(-1)?.state === 'ready');
      const cmds = h.modem.commands;
      const resync = cmds.indexOf('AT', cmds.indexOf('ATD5551234;'));
      assert.equal(cmds[resync - 1], 'AT+CLCC', `the poll, then the resync's AT: ${cmds.slice(-6).join(' ')}`);
      assert.deepEqual(shown(h.statuses.slice(before)), ['connecting: no answer from the modem: resyncing', 'ready: ready (EC600N)']);
      assert.equal(h.events.filter((e) => e.topic === 'line-down').length, 0, 'a resync is not a line-down');
      h.modem.remoteHangup();
      const end = await h.next('ended');
      assert.equal(end.payload.cause, 'normal');
      assert.deepEqual(h.topicsOf(call.id), ['dialing', 'ringing', 'answered', 'ended']);
    });

    it('never takes a late reply for the next command\'s reply (ATI answered late, during the resync)', async () => {
      const modem = new EmulatedModem('ec600n', { timing: FAST_MODEM });
      const faults = modem.feature<import('../../lib/at/emulator/features/faults').FaultsFeature>('faults');
      // ATI's answer ("Quectel", "EC600N", "Revision: ...", OK) comes 100 ms after the channel gave up on
      // it: were it read as AT+CGMM's answer, the model would be "Quectel" and the profile generic.
      void whenCommand(modem, 'ATI').then(() => faults.slowReplies(1, 250));
      h = await loopbackLine('ec600n', { modem });
      assert.deepEqual(h.backend.identity, { manufacturer: '', model: 'EC600N', revision: 'EC600NCNLCR03A01M08' });
      assert.equal(h.backend.profile?.name, 'quectel-asr');
      const cmds = h.modem.commands;
      const after = cmds.slice(cmds.indexOf('ATI') + 1);
      assert.equal(after[0], 'AT', 'the resync');
      assert.deepEqual(after.filter((c) => c !== 'AT').slice(0, 2), ['AT+CGMM', 'AT+CGMR']);
      assert.ok(h.log.lines.some((l) => /stale Quectel \(late answer to ATI\)/.test(l)), 'the late lines were dropped as stale');
    });

    it('drops a doubled final result that arrives with no command in flight', async () => {
      h = await loopbackLine('ec200u');
      void whenCommand(h.modem, 'ATD5551234;').then(() => h!.faults.doubleReplies(1));
      const call = await callUp(h);
      assert.ok(h.log.lines.some((l) => /stray OK with no command in flight/.test(l)), 'the copy was dropped');
      assert.deepEqual(h.topicsOf(call.id), ['dialing', 'ringing', 'answered']);
      assert.equal(h.statuses.at(-1)?.state, 'ready');
    });

    it('takes a URC in the middle of an answer as a URC, and the answer as the answer', async () => {
      h = await loopbackLine('ec600n');
      const a = await callUp(h);
      void whenCommand(h.modem, 'AT+CLCC').then(() => h!.faults.urcInsideReply('+CCWA: "10010",129,1'));
      const waiting = await h.next('waiting');
      assert.equal(waiting.call?.remote.number, '10010');
      assert.equal(h.line.activeCalls().find((c) => c.id === a.id)?.state, 'active', 'the poll still read call 1');
    });
  });

  describe('a modem that stays silent', () => {
    it('is escalated: resync, line-down, the port reopened; retried with back-off until it answers', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      h.faults.hang('never');
      await h.next('line-down');
      await h.status((s) => s.text === 'modem not answering (attempt 2)');
      h.faults.clear(); // the module answers again
      await h.next('line-up');
      assert.ok(h.device.opens >= 3, `reopened: ${h.device.opens} opens`);
      assertInOrder(shown(h.statuses), [
        'connecting: no answer from the modem: resyncing',
        'connecting: the modem is not answering: reopening the port',
        'error: modem not answering',
        'connecting: reconnecting (attempt 2)',
        'error: modem not answering (attempt 2)',
        /^ready: ready \(EC600N\)$/,
      ]);
      assert.ok(!h.modem.commands.includes('AT+CFUN=1,1'), 'no restart without resetOnHang');
      // The module kept the call all along: it survives, and a later remote hang-up is an ordinary one.
      await sleep(300);
      assert.deepEqual(h.line.activeCalls().map((c) => c.id), [call.id]);
      h.modem.remoteHangup();
      const end = await h.next('ended');
      assert.equal(end.payload.cause, 'normal');
      assert.deepEqual(h.topicsOf(call.id), ['dialing', 'ringing', 'answered', 'ended']);
      assert.deepEqual(
        h.events.filter((e) => !e.call).map((e) => e.topic),
        ['line-down', 'line-up'],
        'one line-down, one line-up',
      );
    });

    it('with resetOnHang, sends AT+CFUN=1,1 once after the reopen; the calls it dropped end as network-error', async () => {
      h = await loopbackLine('ec600n', { resetOnHang: true });
      const call = await callUp(h);
      h.faults.hang('restart');
      const end = await h.next('ended', (e) => e.call?.id === call.id);
      assert.equal(end.payload.cause, 'network-error');
      assert.equal(h.backend.ready, true);
      assert.equal(h.modem.commands.filter((c) => c === 'AT+CFUN=1,1').length, 1);
      assertInOrder(shown(h.statuses), [
        'connecting: no answer from the modem: resyncing',
        'connecting: the modem is not answering: reopening the port',
        'connecting: the modem is still silent: restarting it (AT+CFUN=1,1)',
        'ready: ready (EC600N)',
      ]);
      assert.deepEqual(
        h.events.map((e) => e.topic),
        ['dialing', 'ringing', 'answered', 'line-down', 'line-up', 'ended'],
      );
    });

    it('with resetOnHang, a module that stays silent even so goes red "modem not answering (attempt n)"', async () => {
      h = await loopbackLine('ec200u', { resetOnHang: true });
      h.faults.hang('never');
      await h.line.dial('5551234').catch(() => undefined); // a command, to notice the hang
      await h.status((s) => s.text === 'modem not answering (attempt 3)');
      assert.equal(h.modem.commands.filter((c) => c === 'AT+CFUN=1,1').length, 1, 'one restart per hang, not per attempt');
      assert.equal(h.backend.ready, false);
    });
  });

  describe('a port that disappears (USB unplugged)', () => {
    it('a call that survived: line-down, line-up, and nothing else; it ends normally later', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      h.device.unplug();
      await h.next('line-down');
      await sleep(150); // reconnect attempts fail while unplugged
      h.device.plug();
      await h.next('line-up');
      await sleep(300); // a few polls
      h.modem.remoteHangup();
      await h.next('ended');
      await sleep(200);
      assert.deepEqual(h.events.map((e) => e.topic), ['dialing', 'ringing', 'answered', 'line-down', 'line-up', 'ended']);
      assert.equal(h.events.at(-1)?.payload.cause, 'normal', 'not network-error: the modem told how it ended');
      assert.equal(h.events.at(-1)?.call?.id, call.id);
    });

    it('a call that ended meanwhile: ended network-error, once', async () => {
      h = await loopbackLine('ec200u');
      const call = await callUp(h);
      h.device.unplug();
      await h.next('line-down');
      h.modem.remoteHangup(); // its URCs are lost: the cable is out
      h.device.plug();
      const end = await h.next('ended');
      await sleep(300);
      assert.equal(end.payload.cause, 'network-error');
      assert.deepEqual(h.events.map((e) => e.topic), ['dialing', 'ringing', 'answered', 'line-down', 'line-up', 'ended']);
      assert.equal(end.call?.id, call.id);
    });

    it('a hang-up asked for while unplugged goes out once the port is back', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      h.device.unplug();
      await h.next('line-down');
      const hangup = h.line.hangup(call.id);
      await sleep(150);
      assert.equal(h.modem.calls.length, 1, 'nothing sent while unplugged');
      h.device.plug();
      await hangup;
      const end = await h.next('ended');
      assert.deepEqual({ cause: end.payload.cause, by: end.payload.by }, { cause: 'normal', by: 'local' });
      assert.ok(h.modem.commands.includes('AT+QHUP=16,1'));
      assert.equal(h.modem.calls.length, 0);
      assert.deepEqual(h.events.map((e) => e.topic), ['dialing', 'ringing', 'answered', 'line-down', 'line-up', 'ended']);
    });

    it('a call whose index the module gave to a new caller meanwhile ends, and the new call is announced once', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      h.device.unplug();
      await h.next('line-down');
      h.modem.remoteHangup();
      h.modem.incomingCall('10010'); // index 1 again, now incoming
      h.device.plug();
      const end = await h.next('ended', (e) => e.call?.id === call.id);
      assert.equal(end.payload.cause, 'network-error');
      await sleep(400);
      const others = h.events.filter((e) => e.call && e.call.id !== call.id);
      const ids = new Set(others.map((e) => e.call!.id));
      assert.equal(ids.size, 1, `one new call: ${others.map((e) => e.topic).join(', ')}`);
      assert.match(others[0].topic, /^(incoming|waiting)$/);
      assert.equal(h.line.activeCalls()[0]?.remote.number, '10010');
      assert.equal(h.line.activeCalls()[0]?.state, 'incoming');
      assert.equal(h.topicsOf(call.id).filter((t) => t === 'ended').length, 1);
    });
  });

  describe('races between AT+CLCC and the URCs', () => {
    it('a release URC that overtakes a poll\'s answer does not bring the call back', async () => {
      h = await loopbackLine('ec600n');
      const call = await callUp(h);
      await whenCommand(h.modem, 'AT+CLCC');
      h.faults.slowReplies(1, 80); // this poll's answer (the call still listed) comes after...
      await sleep(20);
      h.modem.remoteHangup(); // ...the ^DSCI release
      await h.next('ended');
      await sleep(400);
      assert.deepEqual(h.events.map((e) => e.topic), ['dialing', 'ringing', 'answered', 'ended']);
      assert.equal(h.line.activeCalls().length, 0);
      assert.equal(h.events.at(-1)?.call?.id, call.id);
    });

    it('a call announced while a poll was answered without it is not ended by that poll', async () => {
      h = await loopbackLine('ec600n');
      await callUp(h);
      await whenCommand(h.modem, 'AT+CLCC');
      h.faults.slowReplies(1, 80); // this poll's answer lists one call only...
      await sleep(20);
      h.modem.incomingCall('10010'); // ...but a second one waits already
      const waiting = await h.next('waiting');
      await sleep(400);
      assert.deepEqual(h.topicsOf(waiting.call!.id), ['waiting']);
      assert.equal(h.line.activeCalls().length, 2);
    });
  });

  it('stop() ends in a few seconds even while a dial waits for its answer (the module swallowed it)', async () => {
    h = await loopbackLine('ec600n', { timing: { callCommandTimeoutMs: 60_000 } });
    void whenCommand(h.modem, 'ATD5551234;').then(() => h!.faults.dropReplies(1));
    const dialling = h.line.dial('5551234');
    await h.next('dialing');
    const started = Date.now();
    await h.line.stop();
    assert.ok(Date.now() - started < 4000, `stopped in ${Date.now() - started} ms`);
    const end = await h.next('ended');
    assert.deepEqual({ cause: end.payload.cause, by: end.payload.by }, { cause: 'normal', by: 'local' });
    await dialling.catch(() => undefined);
  });

  it('a module that restarts (RDY) during its initialisation is initialised again, and comes up once', async () => {
    const modem = new EmulatedModem('ec600n', { timing: FAST_MODEM });
    void whenCommand(modem, 'AT+CLIP=1').then(() => modem.reboot());
    h = await loopbackLine('ec600n', { modem });
    await sleep(300);
    assert.equal(h.events.filter((e) => e.topic === 'line-up').length, 0, 'no second line-up');
    assert.equal(h.statuses.filter((s) => s.state === 'ready').length, 1);
    assert.equal(h.modem.commands.filter((c) => c === 'ATE0').length, 2, 'initialised twice');
    assert.equal(h.modem.settings.clip, true, 'settings made after the restart');
    assert.equal(h.modem.settings.dsci, true);
    assert.equal(h.backend.ready, true);
  });
});
