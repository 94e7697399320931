import { strict as assert } from 'node:assert';
import { createSerialDevice, portErrorText } from '../../lib/at/serial-device';
import { memoryLog } from '../helpers/at-harness';

describe('serial device: opening a port', function () {
  it('names the port once when it cannot be opened (not "cannot open X: …, cannot open X")', async function () {
    const device = createSerialDevice('/dev/ttyDOES-NOT-EXIST', 115200, memoryLog());
    await assert.rejects(device.open(), (e: Error) => e.message === 'cannot open /dev/ttyDOES-NOT-EXIST: No such file or directory');
  });

  it('keeps a serialport message that does not end with the path as it is', function () {
    assert.equal(portErrorText(new Error('Error: Permission denied, cannot open /dev/ttyS0'), '/dev/ttyS0'), 'Permission denied');
    assert.equal(portErrorText(new Error('Resource busy'), '/dev/ttyS0'), 'Resource busy');
  });
});
