import assert from 'node:assert/strict';
import { NODES, emulatorOf, helper, lineNode, lineOf, sink, statusesOf, voiceNode, waitFor } from './flow-helpers';

// Eight digits each: a shorter PIN could turn up by chance in a message's timestamps or ids.
const CARD_PIN = '24681357';
const WRONG_PIN = '97531864';

describe('voice-line with a SIM PIN the SIM refuses', function () {
  this.timeout(15000);
  afterEach(async function () {
    await helper.unload();
  });

  it('shows the refusal and the attempts left on the nodes, sends the PIN once, and never shows it', async function () {
    // A unique port per run: a refused PIN is remembered per port for the life of the process.
    const port = `sim:ec600n?pin=${CARD_PIN}&puk=${10_000_000 + Math.floor(Math.random() * 89_999_999)}`;
    const flow = [lineNode('L', { serialPort: port }), voiceNode('D', 'voice-dial', 'L', [[], []], { number: '5551234', ringTimeout: 30 }), sink('H')];
    await helper.load(NODES, flow, { L: { pin: WRONG_PIN } });
    await waitFor('the red status', () => lineOf('L').status.state === 'error');
    await new Promise((r) => setTimeout(r, 1500)); // the old line reconnected after 1 s and sent the PIN again
    assert.equal(lineOf('L').status.state, 'error');
    assert.equal(statusesOf('D').at(-1)?.text, 'error: the SIM refused the PIN (2 attempts left): set t…', JSON.stringify(statusesOf('D')));
    assert.deepEqual(emulatorOf('L').sim.pinChecks, [WRONG_PIN], 'one PIN check, over the line\'s whole life');
    const seen = JSON.stringify([statusesOf('D'), lineOf('L').status, helper.log().args]);
    assert.equal(seen.includes(WRONG_PIN), false, 'the PIN is in no status or log line');
  });
});
