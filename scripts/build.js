#!/usr/bin/env node
// Builds the package: TypeScript to dist/ (CommonJS, so that Node-RED 4 loads it), then copies each
// node's editor .html, its locales and the icons beside the runtime .js, where Node-RED looks for them.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// BUILD_OUT: build somewhere else than dist/ (so that parallel work does not wipe each other's build).
const dist = path.resolve(root, process.env.BUILD_OUT || 'dist');
fs.rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', dist], {
    stdio: 'inherit',
    cwd: root,
  });
} catch (err) {
  // BUILD_LENIENT (side builds only): tsc still emitted; another file's type errors do not stop us.
  if (!process.env.BUILD_LENIENT) process.exit(1);
  console.error('build: type errors above (BUILD_LENIENT: continuing)');
}
// The media worker's native RTP I/O (build/Release/rtp_io.node), when missing or older than its source.
execFileSync(process.execPath, [path.join(__dirname, 'build-native.js'), '--if-stale'], { stdio: 'inherit', cwd: root });
const outNodes = path.join(dist, 'nodes');
for (const f of fs.readdirSync(path.join(root, 'nodes'))) {
  if (f.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', f), path.join(outNodes, f));
}
fs.cpSync(path.join(root, 'nodes', 'locales'), path.join(outNodes, 'locales'), { recursive: true });
fs.cpSync(path.join(root, 'icons'), path.join(outNodes, 'icons'), { recursive: true });
