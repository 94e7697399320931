import { strict as assert } from 'node:assert';
import type { ForwardingEmulator } from '../../lib/at/emulator/features/forwarding';
import { CallState } from '../../lib/call/call-state';
import type { VoiceEvent } from '../../lib/line/voice-line';
import { transferSteps } from '../helpers/event-log';
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

  /** The `transfer` events of a call: `<status>[ <cause>]`. */
  const steps = (events: VoiceEvent[], callId: string): string[] => transferSteps({ events: events.filter((e) => e.call?.id === callId) });

  it('blind transfer over the pty: the number rings and answers, AT+CHLD=4 joins the calls: started, progress ×2, succeeded normal, then both end transferred', async () => {
    const pty = await open({ profile: 'ec200u' });
    const { line, next } = pty;
    const first = await line.dialAndWait('5551234');
    await line.forwarding.transfer(first.call.id, '5555678');
    assert.ok(pty.modem.commands.includes('AT+CHLD=4'));
    assert.deepEqual(steps(pty.events, first.call.id), ['started', 'progress', 'progress', 'succeeded normal']);
    assert.equal((await next('ended', (e) => e.call?.id === first.call.id)).payload.cause, 'transferred');
    const last = pty.events.filter((e) => e.call?.id === first.call.id).at(-1);
    assert.equal(last?.topic, 'ended', 'the transfer events come before ended');
  });

  it('blind transfer over the pty to a busy number (BUSY from the module): failed target-busy, evidence BUSY, the call taken off hold', async () => {
    const pty = await open({ profile: 'ec25' });
    const first = await pty.line.dialAndWait('5551234');
    await assert.rejects(pty.line.forwarding.transfer(first.call.id, '555486'), /did not answer \(busy\)/);
    const reports = pty.events.filter((e) => e.topic === 'transfer');
    assert.deepEqual([reports[0].payload.status, reports.at(-1)?.payload.status, reports.at(-1)?.payload.cause, reports.at(-1)?.payload.evidence], ['started', 'failed', 'target-busy', 'BUSY']);
    await pty.next('resumed', (e) => e.call?.id === first.call.id);
    assert.equal(pty.modem.commands.includes('AT+CHLD=4'), false);
  });

  it('attended transfer over the pty that the network refuses (+CME ERROR: 3): started, failed failed with the module\'s words; both calls stay', async () => {
    const pty = await open({ profile: 'ec600n' });
    const a = await pty.line.dialAndWait('5551234');
    const b = await pty.line.dialAndWait('5555678');
    await pty.next('held', (e) => e.call?.id === a.call.id);
    pty.modem.feature<ForwardingEmulator>('forwarding').refuseNext(3);
    await assert.rejects(pty.line.forwarding.transferToCall(b.call.id, a.call.id), /refused it/);
    assert.deepEqual(steps(pty.events, b.call.id), ['started', 'failed failed']);
    assert.equal(pty.events.filter((e) => e.topic === 'transfer').at(-1)?.payload.evidence, 'AT+CHLD=4 → +CME ERROR: 3');
    assert.deepEqual([a.call.state, b.call.state], [CallState.Held, CallState.Active]);
  });
});
