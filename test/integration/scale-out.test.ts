/**
 * Issue 14: several Node-RED instances behind Kamailio's dispatcher, on loopback (docs/scale-out.md).
 * Kamailio (dispatcher, round-robin, OPTIONS probing every second, failover by ds_next_dst after a
 * 503 or 2 s without an answer) in front of three Node-RED runtimes, each a separate process with
 * this package and a flow that answers, plays a tone, records and hangs up; SIPp places the calls
 * through Kamailio (test/fixtures/sipp/cluster-caller.xml: a call fails when no 200 comes, or no BYE
 * after it). The instances' own events (a function node's log lines) say who answered what, when.
 *
 * The steps run in order on one cluster (each needs the one before): spread, a SIGKILL while calls
 * run, a drain and a restart, a fourth instance added while calls run.
 */
import assert from 'node:assert/strict';
import { destinations, FailedCall, Instance, lostInProgress, sippFailures, setInstances, startDispatcher } from '../helpers/cluster';
import { Kamailio, pickPorts, pickSippMediaPort, requirePeer, Sipp, sippScenario, waitFor } from '../helpers/sip-peers';

/** The tone each instance plays before it hangs up: the length of a call. */
const TONE_MS = 2000;

describe('scale-out: three Node-RED instances behind Kamailio\'s dispatcher (integration, loopback)', function () {
  this.timeout(240_000);
  let kamailio: Kamailio | undefined;
  const instances = new Map<string, Instance>();
  const ports: Record<string, number> = {};
  const rtp: Record<string, number> = {};
  const sipps: Sipp[] = [];
  let failed = false;

  async function startInstance(name: string): Promise<Instance> {
    const instance = await Instance.start(kamailio!.address, ports[name], rtp[name], TONE_MS);
    instances.set(name, instance);
    return instance;
  }

  /** Places `calls` calls at `rate` a second through Kamailio; resolves with SIPp (running). */
  async function placeCalls(calls: number, rate: number): Promise<Sipp> {
    // A port found free can be taken before SIPp binds it (its SIP port, or its media port): try again.
    for (let attempt = 1; ; attempt++) {
      try {
        const sipp = await Sipp.start({
          scenario: sippScenario('cluster-caller.xml'),
          remote: kamailio!.address,
          calls,
          extraArgs: ['-r', String(rate), '-l', '200', '-s', 'app', '-recv_timeout', '20000', '-mp', String(await pickSippMediaPort())],
        });
        sipps.push(sipp);
        return sipp;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  /** Waits until the dispatcher sees the instance on `port` as `flags` (A active, I inactive...). */
  async function dispatcherSees(port: number, flags: RegExp, timeoutMs = 15_000): Promise<number> {
    await waitFor(`the dispatcher marks ${port} ${flags}`, async () => flags.test((await destinations(kamailio!)).get(port) ?? ''), timeoutMs);
    return Date.now();
  }

  before(async function () {
    requirePeer(this, 'kamailio', 'kamcmd', 'sipp');
    const base = await pickPorts(4);
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) {
      ports[name] = base + i;
      rtp[name] = 40000 + 1000 * i + 200 * Math.floor(Math.random() * 5);
    }
    kamailio = await startDispatcher([ports.a, ports.b, ports.c]);
    await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n)));
    for (const n of ['a', 'b', 'c']) await dispatcherSees(ports[n], /^A/);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    if (failed) {
      // eslint-disable-next-line no-console
      console.log([`kamailio:\n${kamailio?.log().slice(-4000)}`, ...[...instances].map(([n, i]) => `instance ${n}:\n${i.nodeRed.log.slice(-40).join('\n')}`), ...sipps.map((s) => `sipp:\n${s.process.text().slice(-2000)}`)].join('\n'));
    }
    for (const s of sipps) await s.stop().catch(() => undefined);
    await Promise.all([...instances.values()].map((i) => i.stop().catch(() => undefined)));
    await kamailio?.stop();
  });

  it('spreads calls round-robin: each instance answers within ±20 % of a third, records, and every call completes', async () => {
    const t0 = Date.now();
    const sipp = await placeCalls(30, 10);
    assert.equal(await sipp.exitCode(), 0, `every call completed (failures: ${JSON.stringify(sippFailures(sipp.dir))})`);
    const counts = ['a', 'b', 'c'].map((n) => instances.get(n)!.answered(t0).length);
    assert.equal(counts.reduce((x, y) => x + y), 30, `30 answered in all: ${counts.join(', ')}`);
    for (const c of counts) assert.ok(Math.abs(c - 10) <= 2, `each within ±20 % of 10: ${counts.join(', ')}`);
    for (const n of ['a', 'b', 'c']) assert.ok(instances.get(n)!.recordings().length > 0, `instance ${n} recorded its calls`);
  });

  it('one instance SIGKILLed while calls run: its calls end, and once the dispatcher marks it inactive no new call fails', async () => {
    const sipp = await placeCalls(50, 5);
    const c = instances.get('c')!;
    await waitFor('instance c in calls', () => c.events().filter((e) => e.topic === 'answered').length >= 12, 20_000);
    const inProgress = c.answered().length - c.events().filter((e) => e.topic === 'ended').length;
    const killedAt = Date.now();
    await c.kill();
    instances.delete('c');
    const inactiveAt = await dispatcherSees(ports.c, /^I/);
    await sipp.exitCode();
    const failures = sippFailures(sipp.dir);
    const lost = failures.filter(lostInProgress);
    const failedNew = failures.filter((f) => !lostInProgress(f));
    const last = (list: FailedCall[]): string => (list.length ? `${Math.max(...list.map((f) => f.t)) - killedAt} ms after the kill` : 'none');
    // eslint-disable-next-line no-console
    console.log(
      `      failover: ${inProgress} call(s) in progress on the killed instance, ${lost.length} of them lost (no BYE, the caller's timeout: last ${last(lost)}); ` +
        `marked inactive ${inactiveAt - killedAt} ms after the kill; new calls failed: ${failedNew.length} (last: ${last(failedNew)})`,
    );
    // eslint-disable-next-line no-console
    console.log(failures.map((f) => `        ${f.t - killedAt} ms after the kill: ${f.text}`).join('\n'));
    assert.ok(inProgress >= 1, 'the instance had calls in progress when killed');
    assert.ok(lost.length >= 1 && lost.length <= inProgress, `its calls in progress ended for the caller: ${lost.length} of ${inProgress}`);
    assert.deepEqual(failedNew.filter((f) => f.t > inactiveAt), [], 'no new call failed once the dispatcher marked it inactive');
    const after = ['a', 'b'].map((n) => instances.get(n)!.answered(inactiveAt).length);
    assert.ok(after.every((n) => n > 0), `the two left take the new calls: ${after.join(', ')}`);
  });

  it('one instance drained: finishes its calls, takes no new ones, reports drained; restarted, it takes calls again', async () => {
    const b = instances.get('b')!;
    const sipp = await placeCalls(40, 5);
    await waitFor('instance b in a call', () => b.answered().length > 0 && b.events().at(-1)?.topic === 'answered', 20_000);
    assert.equal(await b.control('drain'), 'true');
    await waitFor('draining reported', () => b.events().some((e) => e.topic === 'draining'), 5000);
    const drainingAt = b.events().find((e) => e.topic === 'draining')!.t;
    await waitFor('drained reported', () => b.events().some((e) => e.topic === 'drained'), 20_000);
    const drainedAt = b.events().find((e) => e.topic === 'drained')!.t;
    assert.deepEqual(b.arrived(drainingAt + 1), [], 'no new call reached b after it began to drain');
    const inProgress = b.answered(0, drainingAt).length - b.events().filter((e) => e.topic === 'ended' && e.t <= drainingAt).length;
    assert.ok(inProgress >= 1, 'b had a call in progress when it began to drain');
    await dispatcherSees(ports.b, /^I/);
    assert.equal(await sipp.exitCode(), 0, `no call failed while b drained (failures: ${JSON.stringify(sippFailures(sipp.dir))})`);
    assert.ok(drainedAt >= drainingAt);

    // The upgrade: stop the drained instance, start it again (same SIP port), it takes calls again.
    await b.stop();
    const b2 = await startInstance('b');
    await dispatcherSees(ports.b, /^A/);
    const again = await placeCalls(12, 6);
    assert.equal(await again.exitCode(), 0);
    assert.ok(b2.answered().length >= 4, `the restarted b answered its share: ${b2.answered().length} of 12`);
  });

  it('a fourth instance added while calls run takes its share', async () => {
    const d = await startInstance('d');
    const sipp = await placeCalls(60, 6);
    await waitFor('calls running', () => instances.get('a')!.answered().length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 2000));
    // c is gone for good: the list holds a, b and the new d.
    await setInstances(kamailio!, [ports.a, ports.b, ports.d]);
    const addedAt = Date.now();
    assert.equal(await sipp.exitCode(), 0, `no call failed (failures: ${JSON.stringify(sippFailures(sipp.dir))})`);
    const counts = ['a', 'b', 'd'].map((n) => instances.get(n)!.answered(addedAt).length);
    const total = counts.reduce((x, y) => x + y);
    assert.ok(total >= 20, `calls after d was added: ${total}`);
    assert.ok(Math.abs(counts[2] - total / 3) <= 0.2 * (total / 3) + 1, `d took its third (±20 %): a, b, d = ${counts.join(', ')}`);
    assert.ok(d.recordings().length > 0, 'd recorded its calls');
  });
});
