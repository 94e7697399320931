/**
 * The editor's side of the package over Node-RED's admin HTTP API, as the line dialog and the calls
 * sidebar use it: the port picker's list, each line's live state and calls, the hang-up button, and
 * the `voice/lines` comms topic that keeps the sidebar live.
 */
import assert from 'node:assert/strict';
import { ALL_EVENTS, helper, Inbox, lineNode, lineOf, NODES, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const flow = [
  lineNode('line1', { name: 'desk phone' }),
  voiceNode('events', 'voice-events', 'line1', [['out']], { events: ALL_EVENTS }),
  sink('out'),
];

describe('editor API: port picker, live line state, calls sidebar, hang-up button', function () {
  this.timeout(20000);
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('lists the emulator profiles among the ports (and whatever serial ports the machine has)', async () => {
    await helper.load(NODES, flow);
    const res = await helper.request().get('/voice/serial-ports').expect(200);
    const paths = (res.body as Json[]).map((p) => p.path);
    for (const p of ['sim:ec600n', 'sim:ec200u', 'sim:generic', 'sim:ec600n?demo=20']) assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
    assert.ok((res.body as Json[]).every((p) => typeof p.label === 'string' && p.label !== ''));
  });

  it("shows a line's state and module, its calls with their last event, and hangs one up", async () => {
    await helper.load(NODES, flow);
    const inbox = new Inbox('out');
    await waitReady('line1');
    const up: Json = (await helper.request().get('/voice/lines/line1').expect(200)).body;
    assert.equal(up.name, 'desk phone');
    assert.equal(up.backend, 'at');
    assert.equal(up.state, 'ready');
    assert.match(up.module, /Quectel EC600N/);
    assert.deepEqual(up.calls, []);

    await lineOf('line1').dial('5551234');
    await inbox.next('answered', (m) => m.topic === 'answered');
    const all: Json[] = (await helper.request().get('/voice/lines').expect(200)).body;
    assert.equal(all.length, 1);
    const [call] = all[0].calls;
    assert.equal(call.remote.number, '5551234');
    assert.equal(call.state, 'active');
    assert.equal(call.lastEvent, 'answered');

    const hung: Json = (await helper.request().post(`/voice/lines/line1/calls/${call.id}/hangup`).expect(200)).body;
    assert.equal(hung.call.id, call.id);
    const ended = await inbox.next('ended', (m) => m.topic === 'ended');
    assert.equal(ended.payload.by, 'local');
    await waitFor('the call gone from the view', () => lineOf('line1').activeCalls().length === 0);
    assert.deepEqual((await helper.request().get('/voice/lines/line1').expect(200)).body.calls, []);
  });

  it('says what is wrong: a line not deployed yet ({ deployed: false }), a call that is not there (409 with the error and its code)', async () => {
    await helper.load(NODES, flow);
    await waitReady('line1');
    const missing = await helper.request().get('/voice/lines/nope').expect(200);
    assert.deepEqual(missing.body, { id: 'nope', deployed: false });
    const gone = await helper.request().post('/voice/lines/line1/calls/no-such-call/hangup').expect(409);
    assert.match(gone.body.error, /no-such-call|no call/i);
  });

  it('publishes every line on the voice/lines comms topic (retained) as calls come and go', async () => {
    const published: Json[] = [];
    const onComms = (e: Json): void => {
      if (e.topic === 'voice/lines') published.push(e);
    };
    helper._events.on('comms', onComms);
    try {
      await helper.load(NODES, flow);
      await waitReady('line1');
      await lineOf('line1').dial('5551234');
      await waitFor('a published view with the call', () =>
        published.some((e) => e.data.some((l: Json) => l.id === 'line1' && l.calls.some((c: Json) => c.state === 'active'))),
      );
      assert.ok(published.every((e) => e.retain === true));
      // The PIN and password never travel to the editor: only the fields of LineView.
      const keys = new Set(published.flatMap((e) => e.data.flatMap((l: Json) => Object.keys(l))));
      const allowed = ['backend', 'calls', 'id', 'module', 'name', 'state', 'text'];
      assert.deepEqual([...keys].filter((k) => !allowed.includes(k)), [], 'only the fields of LineView');
    } finally {
      helper._events.off('comms', onComms);
    }
  });
});
