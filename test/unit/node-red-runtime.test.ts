import assert from 'node:assert/strict';
import { chooseNodeRed } from '../../scripts/node-red-runtime';
import { helper } from '../nodes/flow-helpers';

describe('which Node-RED the repository runs (scripts/node-red-runtime)', () => {
  it('Node-RED 5 from Node 22.9 on, 4.1 below', () => {
    assert.equal(chooseNodeRed('v22.9.0', '').major, 5);
    assert.equal(chooseNodeRed('v24.1.0', '').major, 5);
    assert.equal(chooseNodeRed('v22.8.9', '').major, 4);
    assert.equal(chooseNodeRed('v20.20.2', '').major, 4);
    assert.match(chooseNodeRed('v20.20.2', '').reason, /needs 22\.9\.0 or later/);
  });

  it('NODE_RED forces one; 5 on a Node that is too old, or another value, is an error', () => {
    assert.equal(chooseNodeRed('v24.1.0', '4').major, 4);
    assert.equal(chooseNodeRed('v24.1.0', '4').packageName, 'node-red-4');
    assert.throws(() => chooseNodeRed('v20.20.2', '5'), /Node-RED 5 needs Node\.js 22\.9\.0 or later; this is v20\.20\.2/);
    assert.throws(() => chooseNodeRed('v22.9.0', '6'), /NODE_RED must be 4 or 5/);
  });

  it(`the node tests run on the one chosen for this Node.js (${process.version})`, () => {
    const chosen = chooseNodeRed();
    // node-red-node-test-helper's runtime is the package whose main we gave it.
    const version: string = helper._RED.version();
    assert.equal(Number(version.split('.')[0]), chosen.major, `helper runs Node-RED ${version}`);
    console.log(`      Node-RED ${version} on Node.js ${process.version} (${chosen.reason})`);
  });
});
