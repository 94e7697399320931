/**
 * oFono's phonesim (the 27.007 simulator oFono is tested with) as a peer of the AT backend: phonesim
 * listens on TCP, and socat gives it a real pseudo-terminal that the line opens through the
 * `serialport` binding. phonesim is not packaged and cannot be built on CI, so its absence is always a
 * skip with the reason (also under CI=true): the one peer where a missing program is not a failure.
 *
 * `PHONESIM` names the binary; `PHONESIM_XML` the profile, by default the `default.xml` next to the
 * binary (both sit in phonesim's `src/` folder).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireSocat } from './pty-pair';
import { PeerProcess, pickPorts, waitFor } from './sip-peers';

export interface PhonesimPaths {
  binary: string;
  xml: string;
}

/** The binary and profile from the environment, or why they cannot be used. */
export function phonesimPaths(): PhonesimPaths | { missing: string } {
  const binary = process.env.PHONESIM;
  if (!binary) return { missing: 'PHONESIM is not set (it names the phonesim binary, built from oFono\'s phonesim source)' };
  if (!existsSync(binary) || !statSync(binary).isFile()) return { missing: `PHONESIM=${binary} is not a file` };
  const xml = process.env.PHONESIM_XML ?? join(dirname(binary), 'default.xml');
  if (!existsSync(xml)) return { missing: `no phonesim profile at ${xml} (set PHONESIM_XML)` };
  return { binary, xml };
}

/** For a `before` hook: the paths, or a skip saying why (never a failure, not even under CI=true). */
export function requirePhonesim(ctx: Mocha.Context): PhonesimPaths {
  const found = phonesimPaths();
  if ('missing' in found) {
    // eslint-disable-next-line no-console
    console.warn(`      skipped: ${found.missing}`);
    ctx.skip();
  }
  requireSocat(ctx);
  return found as PhonesimPaths;
}

/** One write on the wire between the line and phonesim, as socat saw it. */
export interface WireChunk {
  /** `>`: the line to phonesim (commands); `<`: phonesim to the line (answers and URCs). */
  dir: '>' | '<';
  text: string;
}

export interface Phonesim {
  /** The pty the line opens (a symlink to /dev/pts/N). */
  readonly device: string;
  /** Every byte both ways so far, in order, from socat's hex dump. */
  wire(): WireChunk[];
  /** The command lines the line sent, in order (without their CR). */
  commands(): string[];
  /** The wire as text, `>`/`<` per chunk: for the message of a failed assertion. */
  transcript(): string;
  close(): Promise<void>;
}

/** True once something listens on TCP `port` (IPv4 or IPv6), read from /proc without connecting. */
function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((file) => {
    try {
      // Columns: sl local_address rem_address st ...; st 0A is LISTEN.
      return readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .some((f) => f[1]?.endsWith(hex) && f[3] === '0A');
    } catch {
      return false;
    }
  });
}

/** socat's `-x` dump: a header line per write (`> date length=N from=.. to=..`), then the bytes in hex. */
function parseHexDump(text: string): WireChunk[] {
  const chunks: WireChunk[] = [];
  let current: WireChunk | null = null;
  for (const line of text.split('\n')) {
    const header = /^([<>]) \d{4}\/\d\d\/\d\d \S+\s+length=\d+/.exec(line);
    if (header) {
      current = { dir: header[1] as '>' | '<', text: '' };
      chunks.push(current);
    } else if (current && /^( [0-9a-f]{2})+\s*$/.test(line)) {
      current.text += Buffer.from(line.trim().split(' ').map((h) => parseInt(h, 16))).toString('latin1');
    } else if (line.startsWith('--')) {
      current = null;
    }
  }
  return chunks;
}

/**
 * Starts phonesim on a free loopback port with the profile, and socat between a new pty and that port;
 * resolves once the pty is there and socat is connected. A port taken between the pick and phonesim's
 * bind is retried on another.
 */
export async function startPhonesim(paths: PhonesimPaths): Promise<Phonesim> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await pickPorts(1);
    const sim = new PeerProcess('phonesim', paths.binary, ['-p', String(port), paths.xml]);
    const dir = mkdtempSync(join(tmpdir(), 'phonesim-'));
    const device = join(dir, 'modem');
    let socat: PeerProcess | null = null;
    const close = async (): Promise<void> => {
      await socat?.stop();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitFor('phonesim listening', () => listening(port), 10_000, () => sim.running);
      socat = new PeerProcess('socat', 'socat', ['-d', '-d', '-x', `PTY,link=${device},raw,echo=0`, `TCP:127.0.0.1:${port}`]);
      const s = socat;
      await waitFor('socat connected', () => existsSync(device) && s.text().includes('starting data transfer loop'), 5000, () => s.running);
    } catch (err) {
      lastError = new Error(`${(err as Error).message}\nphonesim: ${sim.text().trim()}\nsocat: ${socat?.text().trim() ?? ''}`);
      await close();
      continue;
    }
    const s = socat;
    const wire = (): WireChunk[] => parseHexDump(s.text());
    return {
      device,
      wire,
      commands: () =>
        wire()
          .filter((c) => c.dir === '>')
          .map((c) => c.text)
          .join('')
          .split('\r')
          .filter((c) => c !== ''),
      transcript: () =>
        wire()
          .map((c) => `${c.dir} ${JSON.stringify(c.text)}`)
          .join('\n'),
      close,
    };
  }
  throw lastError;
}

/**
 * A suite's phonesim hooks (call it inside `describe`): skipped, or failed under CI, when phonesim is
 * missing; after each test `unload` (the flow), the wire printed when the test failed (or with
 * PHONESIM_WIRE set), and phonesim closed. `start()` runs the test's phonesim.
 */
export function phonesimSuite(unload: () => Promise<void>): { start(): Promise<Phonesim> } {
  let paths: PhonesimPaths;
  let sim: Phonesim | null = null;
  before(function () {
    paths = requirePhonesim(this);
  });
  afterEach(async function () {
    await unload();
    if (sim && (this.currentTest?.state === 'failed' || process.env.PHONESIM_WIRE)) {
      // eslint-disable-next-line no-console
      console.log(`      the wire (> to phonesim, < from it):\n${sim.transcript().replace(/^/gm, '        ')}`);
    }
    await sim?.close();
    sim = null;
  });
  return { start: async () => (sim = await startPhonesim(paths)) };
}
