/**
 * Which call a `+CSSU` (which names none) is applied to, with two calls up (lib/at/features/other-side-hold.ts):
 * the active one for `+CSSU: 2`, the only call the other side holds for `+CSSU: 3`, and nothing on a guess.
 */
import { strict as assert } from 'node:assert';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { Harness, sleep, startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

describe('the other side\'s hold with two calls (+CSSU names no call)', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  /** A dialled, answered call A; then B dialled and answered, which puts A on hold (ours). */
  async function twoCalls(h: Harness): Promise<{ a: Call; b: Call }> {
    const a = (await h.line.dialAndWait('5551234')).call;
    const b = (await h.line.dialAndWait('5559876')).call;
    await h.next('held', (e) => e.call?.id === a.id);
    assert.deepEqual([a.state, b.state], [CallState.Held, CallState.Active]);
    return { a, b };
  }

  const topicsOf = (h: Harness, call: Call) => h.events.filter((e) => e.call?.id === call.id).map((e) => `${e.topic}${e.payload.heldBy ? `:${e.payload.heldBy}` : ''}`);

  it('+CSSU: 2 goes to the active call, not the one we hold; +CSSU: 3 to the one call the other side holds', async function () {
    const h = track(await startLine('ec600n'));
    const { a, b } = await twoCalls(h);
    h.modem().injectLine('+CSSU: 2');
    await h.next('held', (e) => e.call?.id === b.id);
    assert.equal(b.state, CallState.Held);
    assert.deepEqual(topicsOf(h, b).slice(-1), ['held:remote']);
    h.modem().injectLine('+CSSU: 3');
    await h.next('resumed', (e) => e.call?.id === b.id);
    assert.equal(b.state, CallState.Active);
    assert.equal(a.state, CallState.Held, 'our held call untouched');
    assert.deepEqual(topicsOf(h, a).filter((t) => t.startsWith('held') || t.startsWith('resumed')), ['held:local']);
  });

  it('two calls the other side holds: +CSSU: 3 is ambiguous (still after an AT+CLCC) and dropped with a warning', async function () {
    const h = track(await startLine('ec600n'));
    const { a, b } = await twoCalls(h);
    h.modem().injectLine('+CSSU: 2'); // → B (the active one)
    await h.next('held', (e) => e.call?.id === b.id);
    h.modem().injectLine('+CSSU: 2'); // → A, the only one left: already held (ours), no event
    await sleep(200);
    h.modem().injectLine('+CSSU: 3');
    await sleep(300);
    assert.deepEqual([a.state, b.state], [CallState.Held, CallState.Held], 'nothing moved on a guess');
    assert.ok(h.log.lines.some((l) => /\+CSSU: 3 .*several calls it could be about, ignored/.test(l)), h.log.lines.join('\n'));
  });

  it('+CSSU with no connected call, and codes that change nothing, are logged', async function () {
    const h = track(await startLine('ec25'));
    h.modem().injectLine('+CSSU: 2');
    h.modem().injectLine('+CSSU: 5');
    h.modem().injectLine('+CSSI: 3');
    h.modem().injectLine('+CSSU: x');
    await sleep(200);
    assert.ok(h.log.lines.some((l) => /\+CSSU: 2 .*no call it could be about/.test(l)));
    assert.ok(h.log.lines.some((l) => /the network says the held call was released/.test(l)));
    assert.ok(h.log.lines.some((l) => /the network says the call is waiting/.test(l)));
    assert.equal(h.line.status.state, 'ready');
  });
});
