#!/usr/bin/env node
// @file `npm run setup:cuda`: installs ONNX Runtime's CUDA execution provider libraries for onnxruntime-node
// (plain Node, run by the user once on an NVIDIA machine).
//
// [Note: Installing the CUDA provider]
// onnxruntime-node bundles the CPU and WebGPU providers; the CUDA provider (libonnxruntime_providers_cuda.so,
// _shared.so, _tensorrt.so, several hundred MB) is too large for the npm registry. The package's own installer,
// node_modules/onnxruntime-node/script/install.js, fetches it from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux,
// the version matching the package) when ONNXRUNTIME_NODE_INSTALL=cuda12 is set, and unpacks it next to the
// binding (bin/napi-v6/linux/x64/). It honours GLOBAL_AGENT_HTTPS_PROXY for proxies. Only linux/x64 has such a
// manifest; the libraries also need the NVIDIA driver and the CUDA 12 + cuDNN 9 runtime libraries on the
// system library path. `musilingo models doctor` then says whether CUDA runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');
const platform = `${process.platform}/${process.arch}`;

function say(line = '') {
  process.stdout.write(`${line}\n`);
}

let pkgDir;
try {
  pkgDir = dirname(require.resolve('onnxruntime-node/package.json'));
} catch {
  process.stderr.write('setup:cuda: onnxruntime-node is not installed here; run `npm ci` first.\n');
  process.exit(1);
}
const { version } = require('onnxruntime-node/package.json');
const installer = join(pkgDir, 'script', 'install.js');
const metadata = require(join(pkgDir, 'script', 'install-metadata.js'));
const wanted = metadata.requirements?.[platform] ?? [];

say(`onnxruntime-node ${version} on ${platform}`);
if (!wanted.includes('cuda12')) {
  say(`The CUDA provider is not installed separately on ${platform}: onnxruntime-node has no CUDA download for it.`);
  say('Nothing to do. The app uses WebGPU (or the CPU) there; see `musilingo models doctor`.');
  process.exit(0);
}
if (!existsSync(installer)) {
  process.stderr.write(`setup:cuda: ${installer} is missing; reinstall onnxruntime-node (npm ci).\n`);
  process.exit(1);
}

const binDir = join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch);
const files = Object.keys(metadata.manifests?.[`${platform}:cuda12`] ?? {}).map((f) => join(binDir, f));
if (!force && files.length > 0 && files.every((f) => existsSync(f))) {
  say('The CUDA provider libraries are already installed:');
  for (const f of files) say(`  ${f}`);
  say('Run with --force to download them again. Check with `musilingo models doctor`.');
  process.exit(0);
}

if (!existsSync('/proc/driver/nvidia/version')) {
  say('Note: no NVIDIA driver is loaded on this machine (/proc/driver/nvidia/version is missing).');
  say('The libraries install anyway, but CUDA will not run until the driver is there.');
}
say(`Downloading the CUDA 12 provider for ONNX Runtime ${version} from NuGet (several hundred MB)…`);
const r = spawnSync(process.execPath, [installer], {
  cwd: pkgDir,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
});
if (r.status !== 0) {
  process.stderr.write(
    `\nsetup:cuda: the onnxruntime-node installer failed (exit ${r.status ?? r.signal}). ` +
      'It needs https access to api.nuget.org (set GLOBAL_AGENT_HTTPS_PROXY behind a proxy).\n',
  );
  process.exit(r.status ?? 1);
}
const missing = files.filter((f) => !existsSync(f));
if (missing.length > 0) {
  process.stderr.write(`setup:cuda: the installer finished but these files are missing:\n${missing.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}
say('\nInstalled:');
for (const f of files) say(`  ${f}`);
say('\nThe CUDA provider also needs the CUDA 12 and cuDNN 9 runtime libraries (libcudart.so.12, libcublas.so.12,');
say('libcudnn.so.9) on the library path. Run `musilingo models doctor` to see whether CUDA runs.');
