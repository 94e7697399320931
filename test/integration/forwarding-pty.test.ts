import { strict as assert } from 'node:assert';
import { requireSocat } from '../helpers/pty-pair';
import { PtyLine, openPtyLine } from '../helpers/pty-line';

/**
 * Forwarding through the REAL serialport native binding: the line opens one end of a socat pty pair as
 * it would open /dev/ttyUSB2, the emulated module (and its network's forwarding table) is on the other.
 */
describe('forwarding over a real serial port (socat pty)', function () {
  this.timeout(20000);
  let pty: PtyLine | null = null;

  before(function () {
    requireSocat(this);
  });

  afterEach(async () => {
    await pty?.close();
    pty = null;
  });

  it('forwarding query: register unconditional to +4930123, query it active, erase, query none', async () => {
    pty = await openPtyLine('ec200u');
    const forwarding = pty.line.forwarding;
    assert.deepEqual(await forwarding.setRule('unconditional', 'register', '+4930123'), {
      reason: 'unconditional',
      mode: 'register',
      number: '+4930123',
    });
    const active = await forwarding.setRule('unconditional', 'query');
    assert.deepEqual(active.rules, [{ reason: 'unconditional', active: true, classes: 1, number: '+4930123', numberType: 145 }]);
    await forwarding.setRule('unconditional', 'erase');
    const none = await forwarding.setRule('unconditional', 'query');
    assert.deepEqual(none.rules, [{ reason: 'unconditional', active: false, classes: 7 }]);
    assert.deepEqual(
      pty.modem.commands.filter((c) => c.startsWith('AT+CCFC')),
      ['AT+CCFC=0,3,"+4930123",145', 'AT+CCFC=0,2', 'AT+CCFC=0,4', 'AT+CCFC=0,2'],
    );
  });

  it('divert over the pty: the ringing call ends redirected', async () => {
    pty = await openPtyLine('ec600n');
    pty.modem.incomingCall('5550100');
    const { line, events } = pty;
    await waitUntil(() => line.activeCalls().length === 1);
    await line.forwarding.divert(undefined, '5551234');
    await waitUntil(() => events.some((e) => e.topic === 'ended'));
    const end = events.find((e) => e.topic === 'ended')!;
    assert.equal(end.payload.cause, 'redirected');
    assert.ok(pty.modem.commands.includes('AT+CTFR="5551234",129'));
  });
});

async function waitUntil(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
