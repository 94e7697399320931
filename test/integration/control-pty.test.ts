import { strict as assert } from 'node:assert';
import { ptyLines } from '../helpers/pty-line';

/**
 * Call waiting with swap through the REAL serialport native binding: the line opens one end of a
 * socat pseudo-terminal pair, the emulated module sits on the other end.
 */
describe('call waiting with swap over a real serial port (socat pty)', function () {
  this.timeout(20000);
  const open = ptyLines();

  for (const [profile, endOne] of [
    ['ec600n', (idx: number) => `AT+QHUP=16,${idx}`],
    ['generic', (idx: number) => `AT+CHLD=1${idx}`],
  ] as const) {
    it(`${profile}: active call, a second caller waits, answer it (first held), swap, hang up one, the other remains`, async () => {
      const { line, modem, next, events } = await open({ profile });
      const first = await line.dialAndWait('5551234');
      assert.equal(first.answered, true);
      const a = first.call;

      modem.incomingCall('+4930123456');
      const waiting = await next('waiting');
      assert.equal(waiting.call?.remote.number, '+4930123456');
      const b = line.activeCalls().find((c) => c.id === waiting.call?.id)!;

      await line.answer(b.id);
      await next('held', (e) => e.call?.id === a.id);
      assert.equal(b.state, 'active');

      const swapped = await line.control.swap();
      assert.equal(swapped.active, a);
      assert.equal(a.state, 'active');
      assert.equal(b.state, 'held');

      const idxA = a.index!;
      await line.hangup(a.id);
      const end = await next('ended', (e) => e.call?.id === a.id);
      assert.equal(end.payload.by, 'local');
      assert.ok(modem.commands.includes(endOne(idxA)), `${endOne(idxA)} in ${modem.commands.join(' ')}`);

      // The other call remains, held, on the line and on the module.
      assert.deepEqual(line.activeCalls(), [b]);
      assert.deepEqual(modem.calls.map((c) => [c.idx, c.state]), [[b.index, 'held']]);
      await line.control.resume(b.id);
      assert.equal(b.state, 'active');

      assert.equal(modem.commands.filter((c) => c === 'AT+CHLD=2').length, 3, 'answer-waiting, swap, resume');
      const topics = (id: string) => events.filter((e) => e.call?.id === id).map((e) => e.topic);
      assert.deepEqual(topics(a.id).slice(-4), ['answered', 'held', 'resumed', 'ended']);
      assert.deepEqual(topics(b.id), ['waiting', 'answered', 'held', 'resumed']);
    });
  }
});
