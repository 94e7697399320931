/**
 * voice-conference's party media and room options in a flow (docs/conference.md): the node's folder,
 * maxParties and record, msg.party media and msg.roomOptions (paths from the message stay inside the
 * folder), room-end with the recording. Two SIP lines on 127.0.0.1, A dials B twice.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WavWriter } from '../../lib/media/wav-writer';
import { answeredCalls, twoSipLineNodes } from './conference-flow';
import { errorsOf, getNode, helper, Inbox, lineOf, NODES, sink, voiceNode, waitReady } from './flow-helpers';
import voiceConference = require('../../nodes/voice-conference');

describe('voice-conference: party media and room options', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'vc-media-')));
    const w = await WavWriter.open(join(dir, 'x.wav')); // outside the node's folder (dir/rooms)
    w.write(new Int16Array(800));
    await w.close();
    await fsp.mkdir(join(dir, 'rooms'));
  });
  afterEach(async function () {
    await helper.unload();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('node settings: a room of at most one party, recorded in the folder; msg paths leaving the folder are refused; room-end gives the recording', async function () {
    await helper.load([...NODES, voiceConference], [
      ...(await twoSipLineNodes()),
      voiceNode('C', 'voice-conference', 'B', [['OUT'], ['EV']], { action: 'join', room: 'sales', folder: join(dir, 'rooms'), maxParties: '1', record: 'sales.wav', entryMedia: 'beep:100' }),
      sink('OUT'),
      sink('EV'),
      voiceNode('EA', 'voice-events', 'A', [['EVA']], { events: ['ended'] }),
      sink('EVA'),
    ]);
    await Promise.all([waitReady('A'), waitReady('B')]);
    const out = new Inbox('OUT');
    const ev = new Inbox('EV');
    const a = lineOf('A');
    const b = lineOf('B');
    const calls = await answeredCalls(a, b, 2);

    getNode('C').receive({ call: calls[0] });
    await out.next('joined', (m) => m.action === 'join');
    getNode('C').receive({ call: calls[1] });
    await waitFor(() => errorsOf('C').length === 1);
    assert.match(errorsOf('C')[0].message, /room sales is full: it takes at most 1 party/);
    getNode('C').receive({ call: calls[1], room: 'other', party: { waitMedia: '../x.wav' } });
    await waitFor(() => errorsOf('C').length === 2);
    assert.match(errorsOf('C')[1].message, /waitMedia: .*leads outside the folder/);
    getNode('C').receive({ call: calls[1], room: 'other', roomOptions: { record: '../other.wav' } });
    await waitFor(() => errorsOf('C').length === 3);
    assert.match(errorsOf('C')[2].message, /leads outside the folder/);
    await new Promise((r) => setTimeout(r, 300));
    getNode('C').receive({ action: 'end' });
    const end = await ev.next('room-end', (m) => m.topic === 'room-end');
    assert.equal(end.payload.recording.path, join(dir, 'rooms', 'sales.wav'));
    assert.ok(end.payload.recording.durationMs >= 300, `recorded: ${JSON.stringify(end.payload.recording)}`);
    assert.equal((await fsp.stat(join(dir, 'rooms', 'sales.wav'))).size, 44 + end.payload.recording.durationMs * 16);
  });
});

async function waitFor(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
