/**
 * The license gate (scripts/check/license/gate.ts) on small fixtures made here: it reads each ecosystem's own
 * metadata, and a forbidden license fails the run naming the package and the license (the negative control
 * of `make license-check`). No Cassandra, network or built tools needed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { judge } from '../scripts/check/license/policy.js';
import { licensesInText } from '../scripts/check/license/license-text.js';
import { licenseOfMetadata } from '../scripts/check/license/pypi.js';
import { licenseFilesOf } from '../scripts/check/license/go.js';
import type { Entry } from '../scripts/check/license/entry.js';

let dir: string;
const write = (rel: string, content: unknown) => {
  const p = path.join(dir, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
};
const gate = (...args: string[]) => gateWith({}, ...args);
const gateWith = (env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath,
  ['--import', 'tsx', 'scripts/check/license/gate.ts', '--only-given', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

/**
 * A real Go binary whose build info names example.com/lic@v1.0.0 (built from a vendor directory, so no proxy is
 * asked), and a module cache holding that module laid out like k8s.io/kubernetes: a root LICENSE and a LICENSES/
 * directory (texts, an OWNERS file, a vendor/ tree). `licenseFiles` is what the module holds besides its code.
 */
function goBinaryWithModule(name: string, licenseFiles: Record<string, string>) {
  const app = path.join(dir, name, 'app');
  write(`${name}/app/go.mod`, 'module example.com/app\n\ngo 1.21\n\nrequire example.com/lic v1.0.0\n');
  write(`${name}/app/vendor/modules.txt`, '# example.com/lic v1.0.0\n## explicit; go 1.21\nexample.com/lic\n');
  write(`${name}/app/vendor/example.com/lic/lic.go`, 'package lic\n\nfunc Name() string { return "lic" }\n');
  write(`${name}/app/main.go`, 'package main\n\nimport "example.com/lic"\n\nfunc main() { println(lic.Name()) }\n');
  const built = spawnSync('go', ['build', '-mod=vendor', '-o', 'app', '.'], { cwd: app, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const cache = path.join(dir, name, 'gomodcache');
  write(`${name}/gomodcache/example.com/lic@v1.0.0/lic.go`, 'package lic\n');
  for (const [rel, text] of Object.entries(licenseFiles)) write(`${name}/gomodcache/example.com/lic@v1.0.0/${rel}`, text);
  return { binary: path.join(app, 'app'), cache, moduleDir: path.join(cache, 'example.com', 'lic@v1.0.0') };
}
const APACHE = 'Apache License\nVersion 2.0, January 2004\n';
const MIT = 'Permission is hereby granted, free of charge, to any person obtaining a copy';

/** An npm project: one allowed production dependency, plus whatever `extra` adds to the lockfile and node_modules. */
function npmProject(name: string, extra: Record<string, { license: string; dev?: boolean }>) {
  const deps: Record<string, { license: string; dev?: boolean }> = { 'fine-lib': { license: 'MIT' }, ...extra };
  const packages: Record<string, unknown> = { '': { name } };
  for (const [dep, meta] of Object.entries(deps)) {
    packages[`node_modules/${dep}`] = { version: '1.0.0', license: meta.license, ...(meta.dev ? { dev: true } : {}) };
    write(`${name}/node_modules/${dep}/package.json`, { name: dep, version: '1.0.0', license: meta.license });
  }
  write(`${name}/package-lock.json`, { lockfileVersion: 3, packages });
  return path.join(dir, name);
}

describe('license gate', () => {
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'license-gate-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when every production dependency is permissive and an AGPL one is dev-only, then the gate passes', () => {
    const root = npmProject('clean', { 'dev-tool': { license: 'AGPL-3.0-only', dev: true } });
    const r = gate('--npm-root', root);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /license-check: 1 npm checked; 0 not allowed/);
  });

  it('when a production dependency declares AGPL-3.0, then the gate fails naming the package and the license', () => {
    const root = npmProject('agpl', { 'evil-lib': { license: 'AGPL-3.0-only' } });
    const r = gate('--npm-root', root);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /FAIL npm evil-lib@1\.0\.0: AGPL-3\.0-only — forbidden license/);
    assert.doesNotMatch(r.stdout, /fine-lib/);
  });

  it('when fed a fake AGPL entry, then the gate fails naming it', () => {
    const fake: Entry[] = [{ ecosystem: 'go', name: 'example.com/fake/agpl', version: 'v1.0.0', license: 'AGPL-3.0', source: 'test' }];
    const r = gate('--entries', write('fake.json', fake));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /FAIL go example\.com\/fake\/agpl@v1\.0\.0: AGPL-3\.0/);
  });

  it('when a Maven pom declares the AGPL, then the jar in a lib directory fails; a parent pom license is inherited', () => {
    const repo = path.join(dir, 'm2');
    const pom = (g: string, a: string, v: string, body: string) => write(
      `m2/${g.replace(/\./g, '/')}/${a}/${v}/${a}-${v}.pom`, `<project><groupId>${g}</groupId><artifactId>${a}</artifactId>${body}</project>`);
    pom('org.example', 'parent', '1', '<licenses><license><name>The Apache Software License, Version 2.0</name></license></licenses>');
    pom('org.example', 'child', '1', '<parent><groupId>org.example</groupId><artifactId>parent</artifactId><version>1</version></parent>');
    pom('org.example', 'bad', '2', '<licenses><license><name>GNU Affero General Public License v3</name></license></licenses>');
    for (const jar of ['child-1.jar', 'bad-2.jar']) {
      write(`m2/org/example/${jar.replace(/-\d\.jar$/, '')}/${/\d/.exec(jar)![0]}/${jar}`, '');
      write(`lib/${jar}`, '');
    }
    const r = gate('--maven-repo', repo, '--maven-lib', path.join(dir, 'lib'), '--verbose');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /ok {3}maven org\.example:child@1: Apache-2\.0/);
    assert.match(r.stdout, /FAIL maven org\.example:bad@2: AGPL-3\.0 — forbidden license/);
  });

  it('when a Go module ships the AGPL text or a PyPI package the AGPL classifier, then each is recognised as AGPL', () => {
    assert.deepEqual(licensesInText('GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007'), ['AGPL-3.0']);
    assert.deepEqual(licensesInText('Permission is hereby granted, free of charge, to any person'), ['MIT']);
    const meta = 'Name: x\nVersion: 1\nClassifier: License :: OSI Approved :: GNU Affero General Public License v3\n\nbody';
    assert.equal(licenseOfMetadata(meta), 'AGPL-3.0');
    assert.equal(licenseOfMetadata('Name: y\nLicense-Expression: MIT OR Apache-2.0\n\n'), 'MIT OR Apache-2.0');
  });

  it('when an exception names a forbidden license, then it still fails; an unknown license fails unless excepted', () => {
    const e = (license: string): Entry => ({ ecosystem: 'maven', name: 'g:a', version: '1', license, source: 't' });
    const except = (license: string) => [{ ecosystem: 'maven' as const, name: /^g:a$/, license, why: 'test' }];
    assert.equal(judge(e('AGPL-3.0'), except('AGPL-3.0')).ok, false);
    assert.equal(judge(e('UNKNOWN(Foo License)'), []).ok, false);
    assert.equal(judge(e('UNKNOWN(Foo License)'), except('UNKNOWN(Foo License)')).ok, true);
    assert.equal(judge(e('MIT OR AGPL-3.0'), []).ok, true, 'a permissive alternative may be chosen');
    assert.equal(judge(e('MIT AND AGPL-3.0'), []).ok, false);
  });

  it('when a Go module has a LICENSES/ directory (as k8s.io/kubernetes does), then the gate reads its texts and passes', () => {
    const m = goBinaryWithModule('go-licenses-dir', {
      LICENSE: APACHE, 'LICENSES/MIT.txt': MIT, 'LICENSES/OWNERS': 'approvers: [a]\n',
      'LICENSES/vendor/github.com/x/y/LICENSE': 'GNU AFFERO GENERAL PUBLIC LICENSE', // a vendored module's: not this one's
    });
    assert.deepEqual(licenseFilesOf(m.moduleDir), ['LICENSE', path.join('LICENSES', 'MIT.txt')]);
    const r = gateWith({ GOMODCACHE: m.cache }, '--go-bin', m.binary, '--verbose');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok {3}go example\.com\/lic@v1\.0\.0: Apache-2\.0 AND MIT/);
  });

  it('when a Go module has only a LICENSES/ directory with an AGPL text, then the gate fails naming the module', () => {
    const m = goBinaryWithModule('go-licenses-agpl', { 'LICENSES/AGPL-3.0.txt': 'GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3' });
    const r = gateWith({ GOMODCACHE: m.cache }, '--go-bin', m.binary);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL go example\.com\/lic@v1\.0\.0: AGPL-3\.0 — forbidden license/);
  });

  it('when a module cannot be read, then the error names the module and the path it failed on', () => {
    const m = goBinaryWithModule('go-unreadable', { LICENSE: APACHE });
    rmSync(m.moduleDir, { recursive: true });
    write('go-unreadable/gomodcache/example.com/lic@v1.0.0', 'a file where the module directory should be');
    const r = gateWith({ GOMODCACHE: m.cache, GOFLAGS: '-mod=mod', GOPROXY: 'off' }, '--go-bin', m.binary);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /license-check: go module example\.com\/lic@v1\.0\.0 \(in app\) at .*gomodcache\/example\.com\/lic@v1\.0\.0: ENOTDIR/);
  });
});
