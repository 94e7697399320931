#!/usr/bin/env node
// `npm start`: Node-RED (5 where this Node.js allows it, else 4.1: dist/scripts/node-red-runtime.js) on http://127.0.0.1:1880 with this package's nodes, and a demo flow on the
// built-in modem emulator deployed at the first start (written to .node-red-demo/flows.json when that
// file is absent; delete it to get the demo back). Run after `npm run build` (npm start does both).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const settings = require('./demo-settings');

const root = path.resolve(__dirname, '..');
if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'voice-line.js'))) {
  console.error('dist/ is missing: run `npm run build` first (or `npm start`, which builds).');
  process.exit(1);
}

fs.mkdirSync(settings.userDir, { recursive: true });
const flowFile = path.join(settings.userDir, settings.flowFile);
if (!fs.existsSync(flowFile)) {
  fs.copyFileSync(path.join(__dirname, 'demo-flow.json'), flowFile);
  console.log(`voice demo: wrote the demo flow to ${path.relative(root, flowFile)}`);
}

const runtime = require('../dist/scripts/node-red-runtime.js').chooseNodeRed();
console.log(`voice demo: Node-RED ${runtime.major} (${runtime.reason})`);
console.log(`voice demo: the editor will be at http://${settings.uiHost}:${settings.uiPort}/`);
// Node-RED's own launcher, in this process, with the demo settings.
process.argv = [process.argv[0], runtime.launcher, '--settings', path.join(__dirname, 'demo-settings.js')];
require(runtime.launcher);
