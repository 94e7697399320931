/**
 * The module's own file system, through Quectel's FILE commands (the same on EC2x, the ASR and the
 * Unisoc families; Quectel FILE AT Commands Manual, e.g. the BG96 one §2.2–2.6):
 *
 * - `AT+QFLST="<name>"` → `+QFLST: "<name>",<size>`: the size, before a download.
 * - `AT+QFDWL="<name>"` → `CONNECT`, the file's bytes, then `+QFDWL: <size>,<checksum>` and `OK`. The
 *   `CONNECT` gives no length, so the size read with `AT+QFLST` says how many bytes are the file (the
 *   channel's binary mode); `<checksum>` is a 16-bit XOR, checked here.
 * - `AT+QFDEL="<name>"`.
 *
 * `AT+QFDWL` rather than `AT+QFOPEN`/`AT+QFREAD`/`AT+QFCLOSE`: one command for the whole file, with a
 * size and a checksum to verify, and no file handle left open on the module when a transfer fails.
 */
import { CommandFailedError, InvalidInputError } from '../errors';
import { printable } from '../validate';
import { AtChannel, AtError } from './at-channel';

/** A file name the commands can carry safely: no quote, no path, at most 80 characters (the manual's limit). */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;

export interface ModuleFilesTiming {
  /** `AT+QFLST`, `AT+QFDEL` (default 3000 ms). */
  commandTimeoutMs: number;
  /** A download's time allowance: `downloadBaseMs`, plus `downloadMsPerKiB` for each KiB of the file. */
  downloadBaseMs: number;
  downloadMsPerKiB: number;
}

/** 115200 baud moves ~11 KiB/s: 100 ms per KiB leaves room for a slow USB-serial bridge. */
export const DEFAULT_MODULE_FILES_TIMING: ModuleFilesTiming = { commandTimeoutMs: 3000, downloadBaseMs: 10_000, downloadMsPerKiB: 100 };

/**
 * Quectel's `<checksum>` of `AT+QFUPL`/`AT+QFDWL`: the XOR of the data taken as 16-bit big-endian
 * words; an odd last byte is the high half of a last word whose low half is 0.
 */
export function qfdwlChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum ^= (data[i] << 8) | (i + 1 < data.length ? data[i + 1] : 0);
  return sum;
}

export function checkModuleFileName(name: string): string {
  if (typeof name !== 'string' || !FILE_NAME.test(name)) {
    throw new InvalidInputError(`"${printable(String(name))}" cannot be a file name on the module (letters, digits, _ . -, at most 80)`);
  }
  return name;
}

/** The files of one module, over its AT channel. */
export class ModuleFiles {
  private readonly timing: ModuleFilesTiming;

  constructor(
    private readonly channel: () => AtChannel,
    timing: Partial<ModuleFilesTiming> = {},
  ) {
    this.timing = { ...DEFAULT_MODULE_FILES_TIMING, ...timing };
  }

  /** The size of `name` in bytes, or null when the module has no such file. */
  async size(name: string): Promise<number | null> {
    const cmd = `AT+QFLST="${checkModuleFileName(name)}"`;
    let lines: string[];
    try {
      lines = (await this.channel().send(cmd, { expect: ['+QFLST:'], timeoutMs: this.timing.commandTimeoutMs })).lines;
    } catch (err) {
      // The module answers a pattern that matches nothing with an error (+CME ERROR: 405, file not found).
      if (err instanceof AtError && err.kind === 'error') return null;
      throw failed(`listing ${name} on the module`, cmd, err);
    }
    for (const line of lines) {
      const entry = parseQflst(line);
      // Some firmware lists the storage too ("UFS:name"): compare the name part.
      if (entry && entry.name.replace(/^[A-Z]+:/, '') === name) return entry.size;
    }
    return null;
  }

  /**
   * Downloads `name`, which the module says is `size` bytes, and checks what arrived against the
   * module's own count and checksum. Rejects with CommandFailedError when they differ.
   */
  async download(name: string, size: number): Promise<Buffer> {
    const cmd = `AT+QFDWL="${checkModuleFileName(name)}"`;
    const timeoutMs = this.timing.downloadBaseMs + Math.ceil(size / 1024) * this.timing.downloadMsPerKiB;
    let data: Buffer | undefined;
    let lines: string[];
    try {
      const r = await this.channel().send(cmd, { binary: { length: size }, expect: ['+QFDWL:'], timeoutMs });
      data = r.data;
      lines = r.lines;
    } catch (err) {
      throw failed(`downloading ${name} from the module`, cmd, err);
    }
    const trailer = lines.map(parseQfdwl).find((t) => t !== null);
    const got = data ?? Buffer.alloc(0);
    if (!trailer) {
      throw new CommandFailedError(`downloading ${name} from the module: it did not say how many bytes it sent (no +QFDWL line)`, cmd);
    }
    if (trailer.size !== got.length || got.length !== size) {
      throw new CommandFailedError(
        `downloading ${name} from the module: ${got.length} bytes arrived, the module sent ${trailer.size} and listed ${size}`,
        cmd,
      );
    }
    const sum = qfdwlChecksum(got);
    if (sum !== trailer.checksum) {
      throw new CommandFailedError(
        `downloading ${name} from the module: the checksum does not match (module ${hex(trailer.checksum)}, received ${hex(sum)}): the transfer was damaged`,
        cmd,
      );
    }
    return got;
  }

  async delete(name: string): Promise<void> {
    const cmd = `AT+QFDEL="${checkModuleFileName(name)}"`;
    try {
      await this.channel().send(cmd, { timeoutMs: this.timing.commandTimeoutMs });
    } catch (err) {
      throw failed(`deleting ${name} on the module`, cmd, err);
    }
  }
}

/** `+QFLST: "<name>",<size>` (the name quoted or not). */
export function parseQflst(line: string): { name: string; size: number } | null {
  const m = /^\+QFLST:\s*"?([^",]*)"?\s*,\s*(\d+)\s*$/.exec(line);
  return m ? { name: m[1], size: Number(m[2]) } : null;
}

/** `+QFDWL: <size>,<checksum>`, the checksum in hex. */
export function parseQfdwl(line: string): { size: number; checksum: number } | null {
  const m = /^\+QFDWL:\s*(\d+)\s*,\s*([0-9A-Fa-f]{1,4})\s*$/.exec(line);
  return m ? { size: Number(m[1]), checksum: parseInt(m[2], 16) } : null;
}

function hex(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function failed(what: string, cmd: string, err: unknown): CommandFailedError {
  const e = err as AtError;
  const why = e instanceof AtError ? (e.kind === 'error' ? `the module answered ${e.final}` : e.message) : String(err);
  return new CommandFailedError(`${what} failed: ${why}`, cmd);
}
