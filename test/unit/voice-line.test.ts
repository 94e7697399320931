import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { Backend, DialOptions, HangupRequest } from '../../lib/backend';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { InvalidInputError, LineNotReadyError, UnknownCallError } from '../../lib/errors';

/** A backend that does what it is told, in memory: for the line's own logic, not for protocols. */
class FakeBackend extends EventEmitter implements Backend {
  readonly kind = 'at' as const;
  readonly description = 'a fake modem';
  ready = false;
  started = 0;
  stopped = 0;
  dialled: string[] = [];
  hangups: Array<{ call: Call; request: HangupRequest }> = [];
  answered: Call[] = [];
  private list: Call[] = [];
  async start() {
    this.started++;
    this.ready = true;
    this.emit('status', { state: 'ready', text: 'ready' });
  }
  async stop() {
    this.stopped++;
    this.ready = false;
  }
  calls() {
    return this.list.filter((c) => !c.ended);
  }
  async dial(number: string, _o: DialOptions) {
    this.dialled.push(number);
    const call = new Call({ line: 'L', direction: 'outbound', remote: { number }, state: CallState.Dialing, reason: { text: 'dial' } });
    this.list.push(call);
    this.emit('call', call);
    return call;
  }
  async answer(call: Call) {
    this.answered.push(call);
    call.transition(CallState.Active, { text: 'answered' });
  }
  async hangup(call: Call, request: HangupRequest) {
    this.hangups.push({ call, request });
    call.transition(CallState.Ended, { text: request.text, end: { cause: request.endCause, by: 'local' } });
  }
  ring(number: string): Call {
    const call = new Call({ line: 'L', direction: 'inbound', remote: { number }, state: CallState.Incoming, reason: { text: 'RING', evidence: 'RING' } });
    this.list.push(call);
    this.emit('call', call);
    return call;
  }
}

function makeLine(config: Partial<ConstructorParameters<typeof VoiceLine>[0]> = {}) {
  const backend = new FakeBackend();
  const line = new VoiceLine({ id: 'L', backend: 'at', ...config }, { backendFactory: () => backend });
  const events: VoiceEvent[] = [];
  line.on('event', (e: VoiceEvent) => events.push(e));
  return { line, backend, events, topics: () => events.map((e) => e.topic) };
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('VoiceLine', () => {
  it('connects on the first user and disconnects after the last', async () => {
    const { line, backend } = makeLine();
    line.acquire('a');
    line.acquire('b');
    await tick();
    assert.equal(backend.started, 1);
    await line.release('a');
    assert.equal(backend.stopped, 0);
    await line.release('b');
    assert.equal(backend.stopped, 1);
    assert.equal(line.status.state, 'closed');
  });

  it('refuses to dial before the line is ready, and validates first', async () => {
    const { line, backend } = makeLine();
    await assert.rejects(line.dial('5551234'), LineNotReadyError);
    await line.start();
    await assert.rejects(line.dial('123;+CFUN=0'), InvalidInputError);
    assert.deepEqual(backend.dialled, []);
  });

  it('announces a dialled call and its end, with the snapshot', async () => {
    const { line, backend, events, topics } = makeLine();
    await line.start();
    const call = await line.dial('5551234');
    call.transition(CallState.Ringing, { text: 'alerting' });
    call.transition(CallState.Active, { text: 'answered' });
    await line.hangup(call.id);
    assert.deepEqual(topics(), ['dialing', 'ringing', 'answered', 'ended']);
    const ended = events[3];
    assert.equal(ended.call?.id, call.id);
    assert.equal(ended.payload.cause, 'normal');
    assert.equal(ended.payload.by, 'local');
    assert.equal(backend.hangups[0].request.signal, 'normal');
  });

  it('ends an unanswered dial with no-answer when the ring timeout fires', async () => {
    const { line, events } = makeLine();
    await line.start();
    const pending = line.dialAndWait('5551234', { ringTimeout: 0.05 });
    const result = await pending;
    assert.equal(result.answered, false);
    assert.equal(result.end?.cause, 'no-answer');
    assert.equal(events.at(-1)?.topic, 'ended');
  });

  it('auto-answers after N seconds, and auto-reject wins over it', async () => {
    const a = makeLine({ autoAnswer: 0.02 });
    await a.line.start();
    a.backend.ring('+4930');
    await tick(60);
    assert.deepEqual(a.topics(), ['incoming', 'answered']);

    const r = makeLine({ autoAnswer: 0.02, autoReject: true });
    await r.line.start();
    r.backend.ring('+4930');
    await tick(60);
    assert.deepEqual(r.topics(), ['incoming', 'ended']);
    assert.equal(r.events[1].payload.cause, 'rejected');
    assert.equal(r.backend.answered.length, 0);
  });

  it('finds the call a message names, or says clearly why not', async () => {
    const { line, backend } = makeLine();
    await line.start();
    await assert.rejects(line.answer(), (e: Error) => e instanceof UnknownCallError && /no call to answer/.test(e.message));
    await assert.rejects(line.hangup('nope'), /call nope is not in progress/);
    await assert.rejects(line.hangup({ foo: 1 }), /msg.call must be a call id/);
    await assert.rejects(line.hangup(undefined, 'loud'), /hangup cause must be one of/);
    const c1 = backend.ring('1');
    backend.ring('2');
    await assert.rejects(line.answer(), /there are 2 calls to answer/);
    await line.answer(c1.snapshot());
    assert.equal(c1.state, CallState.Active);
  });

  it('rejects an incoming call with the cause asked for', async () => {
    const { line, backend, events } = makeLine();
    await line.start();
    backend.ring('1');
    await line.hangup(undefined, 'busy');
    assert.equal(backend.hangups[0].request.signal, 'busy');
    assert.equal(events.at(-1)?.payload.cause, 'busy');
  });

  it('rejects with a cause of the second wave, or a SIP code 400–699 the flow gave (its Q.850 cause per RFC 3398, the cause the code means)', async () => {
    const { line, backend, events } = makeLine();
    await line.start();
    backend.ring('1');
    await line.hangup(undefined, 'barred');
    assert.deepEqual([backend.hangups[0].request.signal, events.at(-1)?.payload.cause], ['barred', 'barred']);
    backend.ring('2');
    await line.hangup(undefined, 404);
    const coded = backend.hangups[1].request;
    assert.deepEqual([coded.sipCode, coded.q850, coded.endCause, events.at(-1)?.payload.cause], [404, 1, 'not-found', 'not-found']);
    backend.ring('3');
    await line.hangup(undefined, '486');
    assert.deepEqual([backend.hangups[2].request.sipCode, events.at(-1)?.payload.cause], [486, 'busy']);
    backend.ring('4');
    for (const bad of [399, 700, 486.5, '4860', 'out of order']) {
      await assert.rejects(line.hangup(undefined, bad), /^InvalidInputError: the hangup cause must be one of normal, busy, rejected, unavailable, changed-number, out-of-order, no-circuit, barred, or a SIP status code 400–699, got/);
    }
  });

  it('validates run-time settings', () => {
    const { line } = makeLine();
    assert.throws(() => line.setAutoAnswer(-1), InvalidInputError);
    assert.throws(() => line.setAutoReject('yes'), InvalidInputError);
    line.setAutoAnswer('5');
    assert.equal(line.autoAnswer, 5);
  });

  it('shows a clear status, not a crash, for a SIP line with no server', async () => {
    const line = new VoiceLine({ id: 'S', backend: 'sip' });
    await line.start();
    assert.equal(line.status.state, 'error');
    assert.match(line.status.text, /"sip" backend is not available/);
  });
});
