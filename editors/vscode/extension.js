// The Zephyr debug type: VS Code starts `zephyr dap` (the binary on the
// PATH, or the launch configuration's `zephyrPath`) and speaks the Debug
// Adapter Protocol with it on stdin/stdout. Nothing to build: plain
// JavaScript, loaded as is.
const vscode = require('vscode');

class ZephyrAdapterFactory {
  createDebugAdapterDescriptor(session) {
    const zephyr = session.configuration.zephyrPath || 'zephyr';
    return new vscode.DebugAdapterExecutable(zephyr, ['dap']);
  }
}

function activate(context) {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('zephyr', new ZephyrAdapterFactory())
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
