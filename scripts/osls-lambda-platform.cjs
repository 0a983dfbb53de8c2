'use strict';
// osls plugin: make npm install native optional dependencies for the Lambda, not for the build host.
//
// serverless-esbuild installs external modules (here @node-rs/argon2) into a scratch package with
// `npm ci` and then `npm prune`. npm picks a native module's optional platform package (e.g.
// @node-rs/argon2-linux-arm64-gnu) by the platform it runs on, so on an x64 build host the zip would get
// the x64 binary and fail on arm64 Lambda. npm's os/cpu/libc settings override that; as environment
// variables they reach both npm commands, whoever runs the packaging (`npm run package`, `osls deploy`).
// The target follows provider.architecture (Lambda's Node.js runtimes are Linux with glibc).

class LambdaPlatformPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      initialize: () => this.setTarget(),
    };
  }

  setTarget() {
    const provider = this.serverless.service.provider || {};
    const architecture = provider.architecture || 'x86_64';
    const cpu = { arm64: 'arm64', x86_64: 'x64' }[architecture];
    if (!cpu) throw new Error(`lambda-platform: unknown provider.architecture ${architecture}`);
    for (const [name, fn] of Object.entries(this.serverless.service.functions || {})) {
      if (fn.architecture && fn.architecture !== architecture) {
        throw new Error(`lambda-platform: function ${name} overrides the architecture; native modules are installed for ${architecture} only`);
      }
    }
    process.env.npm_config_os = 'linux';
    process.env.npm_config_cpu = cpu;
    process.env.npm_config_libc = 'glibc';
  }
}

module.exports = LambdaPlatformPlugin;
