import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileWrites, FsFileWrites, loadNativeFileWrites, NATIVE_FILE_IO_PATH, NativeFileWrites } from '../../lib/media/batched-file-writes';

// Both ways a recording's flush reaches its file (lib/media/batched-file-writes.ts) must do the same.
const native = loadNativeFileWrites();
const ways: [string, FileWrites | null, string | null][] = [
  ['native/file-io (one thread-pool request per turn)', native.writes, native.reason],
  ['fs.write', new FsFileWrites(), null],
];

for (const [name, writes, reason] of ways) {
  describe(`FileWrites: ${name}`, () => {
    let dir: string;
    before(function () {
      // The addon is built by `npm run build` (scripts/build-native.js); CI must have it.
      if (!writes && process.env.CI !== 'true') this.skip();
      assert.ok(writes, `native file writes unavailable: ${reason}`);
    });
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-writes-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('writes many files in one turn: each one\'s data at its place, then its header at 0', async () => {
      const files = Array.from({ length: 40 }, (_, i) => path.join(dir, `${i}.bin`));
      const fds = files.map((f) => fs.openSync(f, 'w+'));
      try {
        const header = (i: number): Buffer => Buffer.from(`H${String(i).padStart(3, '0')}`);
        // Each file: 4 bytes of header room, then two flushes of 1000 bytes; the second flush's header wins.
        const data = (i: number, k: number): Buffer => Buffer.alloc(1000, (i * 7 + k) & 0xff);
        await Promise.all(fds.map((fd, i) => writes!.write(fd, data(i, 0), 4, Buffer.from('XXXX'))));
        await Promise.all(fds.map((fd, i) => writes!.write(fd, data(i, 1), 1004, header(i))));
        files.forEach((f, i) => {
          const bytes = fs.readFileSync(f);
          assert.equal(bytes.length, 2004);
          assert.deepEqual(bytes.subarray(0, 4), header(i));
          assert.deepEqual(bytes.subarray(4, 1004), data(i, 0));
          assert.deepEqual(bytes.subarray(1004), data(i, 1));
        });
      } finally {
        fds.forEach((fd) => fs.closeSync(fd));
      }
    });

    it('writes a view at its offset, and no header when given none', async () => {
      const file = path.join(dir, 'v.bin');
      const fd = fs.openSync(file, 'w+');
      try {
        const big = Buffer.from('0123456789');
        await writes!.write(fd, big.subarray(3, 6), 2, null);
        assert.deepEqual(fs.readFileSync(file), Buffer.from([0, 0, 0x33, 0x34, 0x35]));
      } finally {
        fs.closeSync(fd);
      }
    });

    it('rejects with an fs-style error, and writes no header, when the data cannot be written', async () => {
      const file = path.join(dir, 'r.bin');
      fs.writeFileSync(file, 'keep');
      const fd = fs.openSync(file, 'r'); // read-only: every write fails with EBADF
      try {
        const ok = writes!.write(fd, Buffer.from('data'), 4, Buffer.from('HEAD'));
        await assert.rejects(ok, (err: NodeJS.ErrnoException) => err.code === 'EBADF' && /^EBADF: /.test(err.message) && err.syscall === 'write');
        assert.equal(fs.readFileSync(file, 'utf8'), 'keep');
      } finally {
        fs.closeSync(fd);
      }
    });
  });
}

describe('NativeFileWrites', () => {
  it('asks the addon once for all the writes of one turn of the event loop', async function () {
    if (!native.writes && process.env.CI !== 'true') this.skip();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(NATIVE_FILE_IO_PATH) as ConstructorParameters<typeof NativeFileWrites>[0];
    const sizes: number[] = [];
    const counted = new NativeFileWrites({ write: (fds, ...rest) => (sizes.push(fds.length), addon.write(fds, ...rest)) });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-writes-'));
    const fds = Array.from({ length: 25 }, (_, i) => fs.openSync(path.join(dir, `${i}.bin`), 'w'));
    try {
      await Promise.all(fds.map((fd) => counted.write(fd, Buffer.alloc(100), 0, null)));
      await Promise.all(fds.slice(0, 3).map((fd) => counted.write(fd, Buffer.alloc(100), 100, null)));
      assert.deepEqual(sizes, [25, 3]);
      assert.equal(fs.statSync(path.join(dir, '0.bin')).size, 200);
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A media worker stopped while a recording's flush is on the thread pool (a line closed, a deploy, a
  // worker terminated): Node runs the write's completion as the thread is torn down, when Node-API calls
  // that touch JavaScript values fail. The addon once used the value such a call did not set, and the
  // process died of SIGSEGV (CI, session 13). In a child process, so that a crash fails this test.
  for (const how of ['process.exit() in the worker', 'worker.terminate()']) {
    it(`a thread that ends while its writes are on the thread pool (${how}) ends cleanly; the process lives on`, function () {
      if (!native.writes && process.env.CI !== 'true') this.skip();
      this.timeout(60_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-writes-'));
      const worker = `
        const { parentPort, threadId } = require('node:worker_threads');
        const fs = require('node:fs');
        const addon = require(${JSON.stringify(NATIVE_FILE_IO_PATH)});
        const fd = fs.openSync(${JSON.stringify(dir)} + '/' + threadId + '.bin', 'w');
        const data = Buffer.alloc(2 << 20, 1); // 8 writes of 2 MB: the pool is still writing when the thread ends
        for (let k = 0; k < 8; k++) addon.write(Int32Array.of(fd), Float64Array.of(k * data.length), [data], [null], new Int32Array(1), () => {});
        if (${JSON.stringify(how.startsWith('process'))}) process.exit(7);
        parentPort.postMessage('queued');
        for (;;) {}`;
      const parent = `
        const { Worker } = require('node:worker_threads');
        (async () => {
          const codes = [];
          for (let i = 0; i < 5; i++) {
            const w = new Worker(${JSON.stringify(worker)}, { eval: true });
            const exited = new Promise((r) => w.once('exit', r));
            if (${JSON.stringify(!how.startsWith('process'))}) {
              await new Promise((r) => w.once('message', r));
              await w.terminate();
            }
            codes.push(await exited);
          }
          console.log(JSON.stringify(codes));
        })();`;
      try {
        const r = spawnSync(process.execPath, ['-e', parent], { encoding: 'utf8', timeout: 50_000 });
        assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        // process.exit(7) is the thread's code; a terminated thread's is 1.
        assert.deepEqual(JSON.parse(r.stdout), Array(5).fill(how.startsWith('process') ? 7 : 1));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
