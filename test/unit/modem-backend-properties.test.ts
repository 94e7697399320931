import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Trace, chunksOf, parseTrace, replayTrace } from '../../lib/at/trace-replay';
import { memoryLog } from '../helpers/at-harness';

const TRACES = join(__dirname, '..', '..', '..', 'test', 'traces');

/** Lines that mean something to the backend: noise must not look like them. */
const MEANINGFUL = /^(OK|ERROR|RING|RDY|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|CONNECT|AT|[+^>])/i;

/** Unknown URCs (`+ZZXY: ...`, `^ZZXY: ...`): no handler's prefix starts with ZZ. */
const unknownUrc = fc
  .tuple(fc.constantFrom('+', '^'), fc.stringMatching(/^[A-Z]{1,5}$/), fc.string({ maxLength: 24 }))
  .map(([mark, name, rest]) => Buffer.from(`\r\n${mark}ZZ${name}: ${rest.replace(/[\r\n]/g, ' ')}\r\n`));

/** Raw bytes (NUL, 0xff, broken UTF-8...) with no line break: a line of garbage of their own. */
const garbage = fc
  .uint8Array({ minLength: 1, maxLength: 24 })
  .map((b) => Buffer.from(b.filter((x) => x !== 0x0d && x !== 0x0a)))
  .filter((b) => {
    const text = b.toString('utf8').replace(/\0/g, '').trim();
    return b.length > 0 && !MEANINGFUL.test(text);
  });

/**
 * The recorded sessions are the traces of test/traces: the bytes a module sends, the commands the host
 * must send and the events the flow must see, for every module family. The replayer runs the REAL
 * backend (a VoiceLine on an AtBackend, its port an in-memory cable) and fails on any difference.
 */
describe('AT backend properties (fast-check, replaying recorded sessions through the real backend)', function () {
  this.timeout(240000);
  const traces: Trace[] = readdirSync(TRACES)
    .filter((f) => f.endsWith('.trace'))
    .sort()
    .map((f) => parseTrace(readFileSync(join(TRACES, f), 'utf8'), f));

  it('(a) any chunking of a session\'s bytes gives the same events and commands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...traces), fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 6 }), async (trace, list) => {
        // replayTrace rejects when an event, its fields, or a host command differ from the trace.
        await replayTrace(trace, { chunk: chunksOf(list), settleMs: 150 });
      }),
      { numRuns: 30 },
    );
  });

  it('(b) noise bytes and unknown URCs anywhere between lines change no outcome and never throw', async () => {
    const noiseAt = fc.dictionary(
      fc.integer({ min: 0, max: 30 }).map(String),
      fc.array(fc.oneof(unknownUrc, garbage), { minLength: 1, maxLength: 3 }).map((bufs) => Buffer.concat(bufs)),
      { maxKeys: 8 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...traces), noiseAt, fc.array(fc.integer({ min: 1, max: 24 }), { maxLength: 4 }), async (trace, noise, list) => {
        const log = memoryLog();
        await replayTrace(trace, { noise: (n) => noise[String(n)], chunk: chunksOf(list), settleMs: 150, log });
        const failures = log.lines.filter((l) => !l.startsWith('debug') && /failed|exception|TypeError/i.test(l));
        assert.deepEqual(failures, [], 'no handler failed on the noise');
      }),
      { numRuns: 30 },
    );
  });
});
