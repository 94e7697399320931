#!/usr/bin/env node
// Builds native/rtp-io.c (the media worker's batched RTP I/O) with node-gyp into build/Release/rtp_io.node.
// Never fails the install or the build: without a compiler (or off Linux) the media engine uses Node's
// dgram and its log says why (lib/media-engine/native-rtp-io.ts). `--if-stale`: only when the addon is
// missing or older than its source (what `npm run build` does).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build', 'Release', 'rtp_io.node');
const source = path.join(root, 'native', 'rtp-io.c');

if (process.platform !== 'linux') process.exit(0);
if (process.argv.includes('--if-stale') && fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs) process.exit(0);

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
  console.warn(`build-native: the native RTP I/O was not built (${why}); the media engine uses Node's dgram.`);
  process.exit(0);
}
try {
  // gyp's Makefile links with the C++ compiler (LINK ?= $(CXX)); the addon is C, so the C compiler links it: no g++ needed.
  const env = { ...process.env, LINK: process.env.LINK || process.env.CC || 'cc' };
  execFileSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  console.log(`build-native: ${path.relative(root, out)}`);
} catch (err) {
  const detail = String(err.stderr || err.message)
    .split('\n')
    .filter((l) => /error|not found|no such file/i.test(l))
    .slice(0, 6)
    .join('\n');
  console.warn(`build-native: the native RTP I/O was not built (it needs a C compiler (cc), make and python3); the media engine uses Node's dgram.\n${detail}`);
}
