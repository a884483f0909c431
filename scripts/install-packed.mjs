#!/usr/bin/env node
// Installs this checkout the way a user gets it: `npm pack`, then the tarball into a fresh,
// empty project, whose install script builds the native binding there.
//
//   node scripts/install-packed.mjs <dir>     (dist/ must be built: npm run build)
//
// The project's lockfile is derived from this checkout's package-lock.json (every
// non-development package, plus xent from the tarball), so that `npm ci --offline` installs
// the very versions the checkout tested from npm's cache, with no network; where the cache
// lacks one, the install is retried with --prefer-offline (the registry only). Prints one JSON
// line: { dir, tarball, bytes, pack_s, install_s, offline }. Used by
// test/package/pack-install.test.ts, and by hand to compare an install with the checkout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dir = process.argv[2] && resolve(process.argv[2]);
if (!dir) {
  console.error('usage: node scripts/install-packed.mjs <empty or absent dir>');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('install-packed: dist/ is not built (npm run build)');
  process.exit(1);
}

// Under `npm test`, npm's own variables (npm_config_local_prefix among them) point at the
// checkout: the install must see only the user's environment, or it could land here.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
function run(args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(npm, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// Scripts are not run: prepare would rebuild dist/ from source, which the caller has built.
const packed = run(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root);
if (packed.status !== 0) {
  console.error(`install-packed: npm pack failed:\n${packed.stderr}`);
  process.exit(1);
}
const [info] = JSON.parse(packed.stdout);
const tarball = `file:${info.filename}`;

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const packages = {
  '': { name: 'xent-install-check', dependencies: { xent: tarball } },
  'node_modules/xent': {
    version: pkg.version,
    resolved: tarball,
    integrity: info.integrity,
    license: pkg.license,
    hasInstallScript: true,
    dependencies: pkg.dependencies,
    optionalDependencies: pkg.optionalDependencies,
    peerDependencies: pkg.peerDependencies,
    peerDependenciesMeta: pkg.peerDependenciesMeta,
    bin: pkg.bin,
    engines: pkg.engines,
  },
};
// The checkout's own dependency tree, less its development tools: xent's dependencies are the
// checkout root's, so their paths (node_modules/…) are the same in both projects.
for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;

writeFileSync(
  join(dir, 'package.json'),
  `${JSON.stringify({ name: 'xent-install-check', private: true, type: 'module', dependencies: { xent: tarball } }, null, 2)}\n`,
);
writeFileSync(
  join(dir, 'package-lock.json'),
  `${JSON.stringify({ name: 'xent-install-check', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
);

// --foreground-scripts: the install scripts' output (build-native's) is part of the log.
const base = ['ci', '--no-audit', '--no-fund', '--foreground-scripts'];
let offline = true;
let inst = run([...base, '--offline'], dir);
if (inst.status !== 0 && /ENOTCACHED/.test(inst.stderr)) {
  offline = false;
  inst = run([...base, '--prefer-offline'], dir);
}
if (inst.status !== 0) {
  console.error(`install-packed: npm ci failed in ${dir}:\n${inst.stdout}\n${inst.stderr}`);
  process.exit(1);
}
process.stderr.write(inst.stdout);
console.log(
  JSON.stringify({
    dir,
    tarball: join(dir, info.filename),
    bytes: info.size,
    pack_s: packed.seconds,
    install_s: inst.seconds,
    offline,
  }),
);
