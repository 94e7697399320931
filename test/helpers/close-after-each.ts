/**
 * For a describe block whose tests each open something closable (a line harness): returns `track`,
 * which registers what a test opened and returns it; an `afterEach` closes everything tracked, also
 * when the test failed half-way.
 *
 *     const track = closeAfterEach();
 *     it('…', async () => {
 *       const h = track(await startLine('ec25'));
 */
export function closeAfterEach(): <T extends { close(): Promise<void> }>(opened: T) => T {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });
  return (opened) => {
    open.push(opened);
    return opened;
  };
}
