import type { Node } from './red-types';

/** Node-RED gives a closing node 15 s before it logs a timeout: finish a little before that. */
export const CLOSE_CAP_MS = 14_000;

/**
 * Runs a node's closing `work`, and calls `done` exactly once: when the work settles or after
 * {@link CLOSE_CAP_MS}, whichever comes first. A failure or a timeout is a warning, never a hang.
 */
export function closeWithin(node: Node, work: () => Promise<void>, done: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CLOSE_CAP_MS);
  });
  Promise.race([Promise.resolve().then(work), cap])
    .then(
      (result) => {
        if (result === 'timeout') node.warn(`closing did not finish within ${CLOSE_CAP_MS / 1000} s; going on`);
      },
      (err: unknown) => node.warn(`closing: ${err instanceof Error ? err.message : String(err)}`),
    )
    .finally(() => {
      clearTimeout(timer);
      done();
    });
}
