/**
 * A pseudo-terminal pair made by socat, so that code can open a real serial device path (through the
 * `serialport` native binding) with a program of our own on the other end.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** One end, a device path (a symlink to /dev/pts/N). */
  a: string;
  /** The other end. */
  b: string;
  /** Stops socat and removes the links. */
  close(): Promise<void>;
}

let socatFound: boolean | undefined;

/** True when the `socat` program can be run. */
export function haveSocat(): boolean {
  if (socatFound === undefined) {
    const probe = spawnSync('socat', ['-V'], { stdio: 'ignore' });
    socatFound = probe.error === undefined && probe.status === 0;
  }
  return socatFound;
}

/**
 * For a `before` hook of tests that need socat: skips them (saying why) when it is missing, except on CI
 * (`CI=true`), where a missing socat is a failure, not a silent skip.
 */
export function requireSocat(ctx: Mocha.Context): void {
  if (haveSocat()) return;
  if (process.env.CI === 'true') throw new Error('socat is required on CI (apt-get install socat) but was not found');
  // eslint-disable-next-line no-console
  console.warn('      skipped: socat is not installed (apt-get install socat)');
  ctx.skip();
}

/**
 * Starts `socat pty,raw,echo=0,link=<a> pty,raw,echo=0,link=<b>` and resolves when both links exist.
 * With `dir`, the links are made there (and the folder is left in place on close), so that a test can
 * "unplug" a device by closing the pair and "plug it back" under the same path with a new pair.
 */
export async function ptyPair(timeoutMs = 5000, reuseDir?: string): Promise<PtyPair> {
  const dir = reuseDir ?? mkdtempSync(join(tmpdir(), 'pty-pair-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const close = async (): Promise<void> => {
    await stop(child, exited);
    if (reuseDir) {
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    } else rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(a) && existsSync(b))) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await close();
      const why = spawnError ? spawnError.message : child.exitCode !== null ? `socat exited (${child.exitCode})` : 'timed out';
      throw new Error(`could not make a pty pair: ${why}\n${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { a, b, close };
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(killer);
}
