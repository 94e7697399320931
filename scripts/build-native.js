#!/usr/bin/env node
// Builds native/rtp-io.c (the media worker's batched RTP I/O) with node-gyp into build/Release/rtp_io.node,
// and native/file-io.c (the recordings' batched writes, lib/media/batched-file-writes.ts) into file_io.node.
// Never fails the install or the build: without a compiler (or off Linux) the media engine uses Node's
// dgram and fs.write, and its log says why (lib/media-engine/native-rtp-io.ts, lib/media/batched-file-writes.ts). `--if-stale`: only when the addon is
// missing or older than its source (what `npm run build` does).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const built = [
  [path.join(root, 'build', 'Release', 'rtp_io.node'), path.join(root, 'native', 'rtp-io.c')],
  [path.join(root, 'build', 'Release', 'file_io.node'), path.join(root, 'native', 'file-io.c')],
];

if (process.platform !== 'linux') process.exit(0);
const fresh = ([addon, source]) => fs.existsSync(addon) && fs.statSync(addon).mtimeMs >= fs.statSync(source).mtimeMs;
if (process.argv.includes('--if-stale') && built.every(fresh)) process.exit(0);

// npm's own node-gyp (npm sets npm_config_node_gyp for its scripts; else the copy beside this npm).
const nodeGyp = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((p) => p && fs.existsSync(p));
// The headers of the Node that runs this (npm's nodedir setting first): no download.
const nodedir = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].find(
  (d) => d && fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')),
);
const why = !nodeGyp
  ? 'node-gyp was not found'
  : !nodedir
    ? `Node's headers (include/node/node_api.h) were not found beside ${process.execPath}: Debian's nodejs has them in libnode-dev`
    : null;
if (why) {
  console.warn(`build-native: the native addons were not built (${why}); the media engine uses Node's dgram and fs.write.`);
  process.exit(0);
}
try {
  // gyp's Makefile links with the C++ compiler (LINK ?= $(CXX)); the addons are C, so the C compiler links them: no g++ needed.
  const env = { ...process.env, LINK: process.env.LINK || process.env.CC || 'cc' };
  execFileSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  console.log(`build-native: ${built.map(([addon]) => path.relative(root, addon)).join(', ')}`);
} catch (err) {
  const detail = String(err.stderr || err.message)
    .split('\n')
    .filter((l) => /error|not found|no such file/i.test(l))
    .slice(0, 6)
    .join('\n');
  console.warn(`build-native: the native addons were not built (they need a C compiler (cc), make and python3); the media engine uses Node's dgram and fs.write.\n${detail}`);
}
