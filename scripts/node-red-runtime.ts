/**
 * Which Node-RED this repository runs (`npm start`, the tests, the benchmarks): **Node-RED 5** (the
 * devDependency `node-red`) wherever the Node.js running it allows (Node-RED 5 needs Node ≥ 22.9),
 * else **Node-RED 4.1** (the devDependency `node-red-4`, an npm alias of node-red@4.1). The package
 * itself supports both (`node-red.version` in package.json); CI runs the whole suite on each.
 *
 * `NODE_RED=4` or `NODE_RED=5` forces one (5 on a Node that is too old is an error, not a fallback).
 */
import * as path from 'node:path';

/** The lowest Node.js that Node-RED 5 starts on (its package.json `engines`). */
export const NODE_RED_5_MIN_NODE = '22.9.0';

export interface NodeRedRuntime {
  /** 4 or 5. */
  readonly major: 4 | 5;
  /** The npm package name it is installed under: `node-red` or `node-red-4`. */
  readonly packageName: string;
  /** Its `red.js`, the command-line launcher (`npm start`). */
  readonly launcher: string;
  /** Its `lib/red.js`, the package's main: the embedding API (`RED.init(server, settings)`), what node-red-node-test-helper's `init()` takes. */
  readonly main: string;
  /** Why this one (for a line printed at start). */
  readonly reason: string;
}

function atLeast(version: string, min: string): boolean {
  const a = version.replace(/^v/, '').split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Node-RED 5 where `nodeVersion` allows it, 4.1 otherwise; `forced` (NODE_RED) wins. */
export function chooseNodeRed(nodeVersion: string = process.version, forced: string | undefined = process.env.NODE_RED): NodeRedRuntime {
  const canRun5 = atLeast(nodeVersion, NODE_RED_5_MIN_NODE);
  let major: 4 | 5;
  let reason: string;
  if (forced !== undefined && forced !== '') {
    if (forced !== '4' && forced !== '5') throw new Error(`NODE_RED must be 4 or 5, not "${forced}"`);
    major = forced === '5' ? 5 : 4;
    if (major === 5 && !canRun5) {
      throw new Error(`NODE_RED=5: Node-RED 5 needs Node.js ${NODE_RED_5_MIN_NODE} or later; this is ${nodeVersion}`);
    }
    reason = `NODE_RED=${forced}`;
  } else if (canRun5) {
    major = 5;
    reason = `Node.js ${nodeVersion}`;
  } else {
    major = 4;
    reason = `Node.js ${nodeVersion}: Node-RED 5 needs ${NODE_RED_5_MIN_NODE} or later, so Node-RED 4.1`;
  }
  const packageName = major === 5 ? 'node-red' : 'node-red-4';
  const pkgDir = path.dirname(require.resolve(`${packageName}/package.json`));
  return {
    major,
    packageName,
    launcher: path.join(pkgDir, 'red.js'),
    main: path.join(pkgDir, 'lib', 'red.js'),
    reason,
  };
}
