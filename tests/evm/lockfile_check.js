// Checks package-lock.json keeps `npm ci` reproducible from the npm registry alone: the tools
// pinned to exact versions, the platform anvil package and not its wrapper (whose postinstall
// downloads from GitHub and breaks `npm ci`), every package with an integrity hash, nothing
// fetched from git or any other host, and no install scripts but the known ones below, which
// scripts/install-npm-tools.sh never runs (it must keep --ignore-scripts).
'use strict';
const fs = require('fs');
const path = require('path');
const root = process.argv[2];
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const problems = [];
const exact = /^\d+\.\d+\.\d+$/;
const pinned = { '@foundry-rs/anvil-linux-amd64': exact, solc: exact, hardhat: exact };
// Install scripts that are not needed and never run: keccak's builds a native binding (Hardhat
// falls back to its JavaScript one), @scarf/scarf's only reports the install to a server.
const scriptsNotRun = new Set(['node_modules/keccak', 'node_modules/@scarf/scarf']);
const installer = fs.readFileSync(path.join(root, 'scripts', 'install-npm-tools.sh'), 'utf8');
if (!/npm ci[^\n]*--ignore-scripts/.test(installer)) problems.push('scripts/install-npm-tools.sh runs npm ci without --ignore-scripts');
for (const [name, pattern] of Object.entries(pinned)) {
  const wanted = (manifest.dependencies || {})[name];
  if (!wanted || !pattern.test(wanted)) problems.push(`${name} is not pinned to an exact version`);
}
for (const [where, entry] of Object.entries(lock.packages || {})) {
  if (where === '') continue;
  if (where.endsWith('node_modules/@foundry-rs/anvil')) problems.push('the wrapper @foundry-rs/anvil is locked');
  if (!entry.integrity) problems.push(`${where} has no integrity hash`);
  if (entry.resolved && !entry.resolved.startsWith('https://registry.npmjs.org/')) {
    problems.push(`${where} resolves outside the npm registry: ${entry.resolved}`);
  }
  if (entry.hasInstallScript && !scriptsNotRun.has(where)) problems.push(`${where} has an install script`);
  if (entry.version && /^(git|github|http|file):/.test(entry.version)) problems.push(`${where} is not a registry version`);
}
if (lock.lockfileVersion < 2) problems.push('lockfile version 1 cannot be installed with npm ci reproducibly');
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('package-lock.json: registry-only, pinned, no install scripts run');
