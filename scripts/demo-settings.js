// Node-RED settings for `npm start` (scripts/start.js): a local editor on 127.0.0.1:1880 with this
// package loaded from the repository (nodesDir: the repository is a Node-RED module, so its palette,
// icons and examples show) and the demo flow in .node-red-demo/ (git-ignored).
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');

module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  userDir: path.join(root, '.node-red-demo'),
  flowFile: 'flows.json',
  // A fixed secret for the demo's credentials file, so that Node-RED does not ask for one.
  // A real installation sets its own.
  credentialSecret: 'voice-nodes-demo',
  nodesDir: [root],
  httpAdminRoot: '/',
  httpNodeRoot: '/api',
  functionGlobalContext: {},
  exportGlobalContextKeys: false,
  logging: { console: { level: process.env.LOG_LEVEL || 'info', metrics: false, audit: false } },
  // No consent dialog and no update check: the demo runs offline.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: {
    tours: false,
  },
};
