/**
 * A real Node-RED runtime in the bench process, through its embedded API (`RED.init` + `RED.start`),
 * loading the package's nodes from the build (`nodesDir`: the compiled nodes/ beside this bench) and
 * the core nodes (delay) from Node-RED itself. No editor, no HTTP: only the flows run.
 *
 * Not node-red-node-test-helper (bench/at-latency.ts): the helper spies on every node's `send`,
 * `status` and `log` and keeps each call's arguments, so memory would grow with every message and
 * the memory-per-call figure would be the spy's.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseNodeRed } from '../../scripts/node-red-runtime';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export class NodeRedHost {
  private constructor(
    private readonly red: Any,
    readonly userDir: string,
  ) {}

  /** Starts a runtime whose user folder is a fresh temp folder (removed by stop()). */
  static async start(nodesDir: string): Promise<NodeRedHost> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const RED = require(chooseNodeRed().main);
    const userDir = mkdtempSync(join(tmpdir(), 'bench-sip-red-'));
    process.once('exit', () => rmSync(userDir, { recursive: true, force: true }));
    RED.init(createServer(), {
      userDir,
      nodesDir: [nodesDir],
      flowFile: 'flows.json',
      httpAdminRoot: false,
      httpNodeRoot: false,
      disableEditor: true,
      credentialSecret: 'bench-sip-load',
      logging: { console: { level: 'error', metrics: false, audit: false } },
      // The palette: the package's nodes, and delay from the core (nothing else is loaded).
      nodesExcludes: [],
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
    });
    await RED.start();
    return new NodeRedHost(RED, userDir);
  }

  /** Replaces the running flows (a full deploy) and resolves once they started. */
  async deploy(flows: object[], credentials: Record<string, object> = {}): Promise<void> {
    const withCredentials = flows.map((n) => {
      const c = credentials[(n as { id: string }).id];
      return c ? { ...n, credentials: c } : n;
    });
    await this.red.runtime.flows.setFlows({ flows: { flows: withCredentials }, deploymentType: 'full' });
  }

  /** A running node by id (null when none). */
  node(id: string): Any {
    return this.red.nodes.getNode(id);
  }

  async stop(): Promise<void> {
    await this.deploy([]).catch(() => undefined);
    await this.red.stop();
    rmSync(this.userDir, { recursive: true, force: true });
  }
}
