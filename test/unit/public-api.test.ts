import assert from 'node:assert/strict';
import * as path from 'node:path';

// What package.json's `main` names, loaded as a user's script would load it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../../package.json');
const api = require(path.resolve(__dirname, '../../..', pkg.main));

describe('the public API (package.json main → lib/index.ts)', () => {
  it('main names a built file that exports the line, both backends, the emulator, the call model and the errors', () => {
    for (const name of ['VoiceLine', 'AtBackend', 'SipBackend', 'EmulatedModem', 'Call', 'InvalidInputError', 'validatePhoneNumber', 'MODEM_PROFILES']) {
      assert.equal(typeof api[name], name === 'MODEM_PROFILES' ? 'object' : 'function', name);
    }
  });

  it("the doc comment's example runs: a line on the emulator dials 5551234 and the call is answered", async () => {
    const line = new api.VoiceLine({ id: 'demo', backend: 'at', serialPort: 'sim:ec600n' });
    const topics: string[] = [];
    line.on('event', (e: { topic: string }) => topics.push(e.topic));
    line.acquire('my-script');
    try {
      await new Promise<void>((up) => line.on('event', (e: { topic: string }) => e.topic === 'line-up' && up()));
      const result = await line.dialAndWait('5551234');
      assert.equal(result.answered, true);
      assert.ok(topics.includes('line-up') && topics.includes('answered'), topics.join(' '));
    } finally {
      await line.release('my-script');
    }
  });
});
