import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The core (lib/) never depends on Node-RED (design §2): the nodes adapt it, never the reverse. This
 * reads every source file under lib/ and fails on any import or require of `node-red` or `@node-red/*`.
 */
const ROOT = repositoryRoot(__dirname);
const LIB = path.join(ROOT, 'lib');
const NODE_RED_IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](?:node-red|@node-red\/[^'"]+)(?:\/[^'"]*)?['"]/;

/** The folder with package.json and the lib/ sources, above the compiled test (wherever it was built). */
function repositoryRoot(from: string): string {
  for (let d = from; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'lib', 'backend.ts'))) return d;
  }
  throw new Error(`no repository with lib/backend.ts above ${from}`);
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(?:ts|js|cjs|mjs)$/.test(e.name) ? [p] : [];
  });
}

describe('core isolation', function () {
  it('recognises every way of importing Node-RED', function () {
    for (const line of [
      "import RED from 'node-red';",
      'import type { Node } from "@node-red/registry";',
      "const util = require('@node-red/util');",
      "const r = require( 'node-red/lib/red' );",
      "import 'node-red';",
      "const m = await import('@node-red/runtime');",
      "export { x } from 'node-red';",
    ]) {
      assert.match(line, NODE_RED_IMPORT, line);
    }
    for (const line of ["import { x } from './node-red-ish';", "import x from 'node-redis';", '// talks to node-red users']) {
      assert.doesNotMatch(line, NODE_RED_IMPORT, line);
    }
  });

  it('finds no import of node-red or @node-red/* under lib/', function () {
    const files = sourceFiles(LIB);
    assert.ok(files.length > 5, `lib/ has source files (found ${files.length} in ${LIB})`);
    const offenders = files.flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${path.relative(ROOT, file)}:${i + 1}` }))
        .filter(({ line }) => NODE_RED_IMPORT.test(line))
        .map(({ line, at }) => `${at}: ${line.trim()}`),
    );
    assert.deepEqual(offenders, [], 'lib/ must not depend on Node-RED');
  });
});
