/**
 * Redeploys leave nothing behind: 50 full deploys of a flow with every node type, each with calls up
 * (an emulated modem in demo mode, two SIP lines on loopback calling each other, recording, playing,
 * gathering digits), and the process's handles, open files, sockets and heap stay flat.
 * The figures for docs/reliability.md come from bench/redeploy-soak.ts, not from this test.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickPorts } from '../helpers/sip-peers';
import {
  ALL_NODE_MODULES,
  ProcessFigures,
  everyNodeFlow,
  handleGrowth,
  helper,
  linesReady,
  processFigures,
  putCallsUp,
  redeploy,
} from '../helpers/redeploy-flow';

const REDEPLOYS = 50;
/** Redeploys before the first measure: V8 compiles and optimises the code paths of a redeploy over the first ~25. */
const WARM_UP = 25;
/** What the heap after GC (compiled code aside) may grow by, per redeploy. */
const HEAP_PER_REDEPLOY = 10 * 1024;

describe('redeploys leave nothing behind', function () {
  this.timeout(120_000);
  let folder = '';
  let loaded = false;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'redeploy-leak-'));
  });
  after(async () => {
    if (loaded) await helper.unload();
    rmSync(folder, { recursive: true, force: true });
  });

  it(`${REDEPLOYS} full redeploys with calls up: handles, files, sockets flat, heap < 10 KiB per redeploy`, async () => {
    // A file a recording opened and nobody closed: Node closes it on GC, with this warning.
    const closedByGc: string[] = [];
    const onWarning = (w: Error): void => {
      if (/Closing file descriptor \d+ on garbage collection/.test(w.message)) closedByGc.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      await redeployWithCallsUp(closedByGc);
    } finally {
      process.off('warning', onWarning);
    }
  });

  async function redeployWithCallsUp(closedByGc: string[]): Promise<void> {
    const flow = everyNodeFlow({ sipBase: await pickPorts(2), rtpBase: await pickPorts(32) }, folder);
    const unloaded = await processFigures();
    await helper.load(ALL_NODE_MODULES, flow);
    loaded = true;
    await linesReady();
    for (let i = 0; i < WARM_UP; i++) {
      await putCallsUp();
      await redeploy(flow);
    }
    const before: ProcessFigures = await processFigures();
    for (let i = 0; i < REDEPLOYS; i++) {
      await putCallsUp();
      await redeploy(flow);
    }
    const after: ProcessFigures = await processFigures();
    const figures = JSON.stringify({ before, after });
    assert.deepEqual(handleGrowth(before, after), {}, `active handles by type changed: ${figures}`);
    assert.equal(after.fds, before.fds, `open files: ${figures}`);
    assert.equal(after.sockets, before.sockets, `sockets: ${figures}`);
    const perRedeploy = (after.heapUsed - before.heapUsed) / REDEPLOYS;
    const objectsPerRedeploy = (after.objects - before.objects) / REDEPLOYS;
    const growth = `heap +${Math.round(perRedeploy)} bytes per redeploy, without compiled code +${Math.round(objectsPerRedeploy)}: ${figures}`;
    // V8's compiled code is left out: it still grows for a while as the JIT re-optimises the code of a
    // redeploy, and levels off (bench/redeploy-soak.ts shows it, docs/reliability.md has the figures).
    assert.ok(objectsPerRedeploy < HEAP_PER_REDEPLOY, growth);
    assert.deepEqual(closedByGc, [], 'files left open');

    await helper.unload();
    loaded = false;
    const gone = await processFigures();
    assert.deepEqual(handleGrowth(unloaded, gone), {}, `the flow stopped, the handles are those of before it: ${JSON.stringify({ unloaded, gone })}`);
    assert.equal(gone.fds, unloaded.fds);
  }
});
