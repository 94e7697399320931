import { promises as fsp } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FileAccessError, PathNotAllowedError } from '../errors';
import { parseWav } from '../media/wav-reader';
import { printable } from '../validate';

/**
 * Where a file named by a flow may be. `folder`: relative paths are resolved against it. `confine`:
 * the path came from a message (data from outside: an HTTP request, MQTT), so it must stay inside
 * `folder` once `..` and symbolic links are resolved. Paths typed in a node's settings are trusted,
 * as the core file nodes trust theirs.
 */
export interface FilePlace {
  folder: string;
  confine: boolean;
  /** No file path is taken from here at all (the node's "take the path from the message" is off). */
  denied?: boolean;
}

/** The PathNotAllowedError for a file path from a message the node does not take (`what`: where it was). */
export function deniedPath(what: string): PathNotAllowedError {
  return new PathNotAllowedError(`this node does not take a file path from the message (${what}): tick "take the path from the message" in its settings, or set the file in the node`);
}

/** Whether `path` is `folder` itself or inside it (both absolute and normalised). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/**
 * The real path of a file to read: `requested` resolved against the place's folder and through every
 * symbolic link (fs.realpath). Confined: PathNotAllowedError unless the real path is inside the
 * folder's real path. A file that does not exist is a FileAccessError.
 */
export async function resolveForReading(requested: string, place: FilePlace): Promise<string> {
  const path = resolve(place.folder, requested);
  let real: string;
  try {
    real = await fsp.realpath(path);
  } catch (err) {
    throw new FileAccessError(errnoText(err));
  }
  if (place.confine) await requireInside(real, requested, place.folder);
  return real;
}

/**
 * The path to write a recording at: `requested` resolved against the place's folder, through the
 * symbolic links of the part of it that exists. Confined: PathNotAllowedError unless that real path is
 * inside the folder's real path (so the folders the backend creates for it, `mkdir -p`, are inside
 * too, and no link leads out). An existing file there is never replaced unless it is a recording of
 * the same format (a WAV with a header this package reads, or an AMR file): FileAccessError otherwise;
 * a link to a file is followed (and, confined, must stay inside). Nothing is created here.
 */
export async function prepareForWriting(requested: string, place: FilePlace, format: 'wav' | 'amr'): Promise<string> {
  const path = resolve(place.folder, requested);
  // The folder's real path, then the file itself (lstat): the real path of the whole as
  // realpathOfExisting(path) gives it, but a file not there yet (a new recording, the usual case)
  // costs one failed lstat instead of a failed realpath and a failed lstat (each failure is an
  // Error built with its stack: most of what this cost the main thread per call, docs/benchmarks.md).
  const name = basename(path);
  let real = name === '' ? path : join(await realpathOfExisting(dirname(path)), name);
  let exists = true;
  try {
    if ((await fsp.lstat(real)).isSymbolicLink()) real = await fsp.realpath(real).catch(() => real); // a dangling link stays itself
  } catch {
    exists = false; // nothing there yet
  }
  if (place.confine) await requireInside(real, requested, place.folder);
  if (exists) await requireRecording(real, format);
  return real;
}

/** The real path of the deepest part of `path` that exists (a folder about to be created is not there yet). */
async function realpathOfExisting(path: string): Promise<string> {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(await fsp.realpath(at), ...rest.reverse());
    } catch {
      const up = dirname(at);
      if (up === at) return path;
      rest.push(relative(up, at));
      at = up;
    }
  }
}

async function requireInside(real: string, requested: string, folder: string): Promise<void> {
  let base: string;
  try {
    base = await fsp.realpath(folder);
  } catch {
    base = resolve(folder);
  }
  if (!isInside(real, base)) {
    throw new PathNotAllowedError(`the path "${printable(requested)}" from the message leads outside the folder ${printable(base, 120)}`);
  }
}

/** An existing file may be overwritten only by a recording of its own kind. */
async function requireRecording(path: string, format: 'wav' | 'amr'): Promise<void> {
  let head: Buffer;
  let size: number;
  let handle: fsp.FileHandle | undefined;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new FileAccessError('something that is not a file is there');
    handle = await fsp.open(path, 'r');
    head = Buffer.alloc(Math.min(st.size, 64 * 1024));
    head = head.subarray(0, (await handle.read(head, 0, head.length, 0)).bytesRead);
    size = st.size;
  } catch (err) {
    throw err instanceof FileAccessError ? err : new FileAccessError(errnoText(err));
  } finally {
    await handle?.close().catch(() => undefined);
  }
  const ok = format === 'amr' ? head.toString('latin1', 0, 6) === '#!AMR\n' : isWav(head, size);
  if (!ok) throw new FileAccessError(`a file that is not ${format === 'amr' ? 'an AMR' : 'a WAV'} recording is there already; it is not overwritten`);
}

function isWav(head: Buffer, size: number): boolean {
  try {
    parseWav(head, size);
    return true;
  } catch {
    return false;
  }
}

/** `ENOENT` → "it does not exist", for the person who named the file. */
export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EISDIR':
      return 'it is a folder';
    default:
      return code ?? (err as Error)?.message ?? String(err);
  }
}
