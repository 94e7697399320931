/**
 * `voice-calls`: a Node-RED plugin whose editor half (voice-calls.html) adds the **voice** tab to the
 * sidebar: every deployed line (state, module or registration) and its live calls, with a hang-up
 * button per call. Its data comes from the admin endpoints and the `voice/lines` comms topic that the
 * `voice-line` node module registers (nodes/shared/editor-api.ts); this half only declares the plugin.
 */
interface PluginAPI {
  plugins: { registerPlugin(id: string, definition: Record<string, unknown>): void };
}

export = function register(RED: PluginAPI): void {
  RED.plugins.registerPlugin('voice-calls', { type: 'voice-calls-sidebar' });
};
