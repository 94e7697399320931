import { strict as assert } from 'node:assert';
import { ptyLines } from '../helpers/pty-line';

/**
 * Forwarding through the REAL serialport native binding: the line opens one end of a socat pty pair as
 * it would open /dev/ttyUSB2, the emulated module (and its network's forwarding table) is on the other.
 */
describe('forwarding over a real serial port (socat pty)', function () {
  this.timeout(20000);
  const open = ptyLines();

  it('forwarding query: register unconditional to +4930123, query it active, erase, query none', async () => {
    const pty = await open({ profile: 'ec200u' });
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
    const pty = await open({ profile: 'ec600n' });
    pty.modem.incomingCall('5550100');
    const { line, next } = pty;
    await next('incoming');
    assert.equal(line.activeCalls().length, 1);
    await line.forwarding.divert(undefined, '5551234');
    const end = await next('ended');
    assert.equal(end.payload.cause, 'redirected');
    assert.ok(pty.modem.commands.includes('AT+CTFR="5551234",129'));
  });
});
