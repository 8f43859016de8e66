import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The local Cassandra's configuration comes from scripts/dev/cassandra/*.tmpl, rendered in pure bash by
// scripts/dev/lib/render.sh. These run the real scripts (bash, no Cassandra): write_config into a temporary run dir.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIB = path.join(ROOT, 'scripts/dev/lib');

function bash(script: string, env: Record<string, string> = {}) {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
}

/** Runs write_config of lib/cassandra-node.sh for a node in `dir` and returns the files it wrote. */
function writeConfig(dir: string, vars: Record<string, string> = {}) {
  const script = `REPO_ROOT=${JSON.stringify(ROOT)} EPHEMERA_CACHE="$DIR/cache" CASSANDRA_VERSION=5.0.8
    CASSANDRA_PORT=\${CFG_PORT:-9042} CASSANDRA_STORAGE_PORT=7000 HOST=\${CFG_ADDR:-127.0.0.1}
    source "$REPO_ROOT/scripts/dev/lib/cassandra-node.sh"; node_paths "$DIR/run"; write_config`;
  // The developer's own CASSANDRA_* settings must not leak into what is asserted.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASSANDRA_')));
  execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env: { ...inherited, DIR: dir, ...vars } });
  const conf = path.join(dir, 'run', 'conf');
  return { yaml: readFileSync(path.join(conf, 'cassandra.yaml'), 'utf8'), logback: readFileSync(path.join(conf, 'logback.xml'), 'utf8') };
}

describe('the local Cassandra configuration templates', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'scripts-cassandra-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when the single node is configured with defaults, then every placeholder is filled with its setting', () => {
    const { yaml, logback } = writeConfig(path.join(dir, 'single'));
    assert.doesNotMatch(yaml, /@[A-Z_]+@/);
    assert.match(yaml, /^cluster_name: 'Ephemera'$/m);
    assert.match(yaml, /^initial_token: 0$/m);
    assert.match(yaml, /^ {6}- seeds: "127\.0\.0\.1:7000"$/m);
    assert.match(yaml, /^listen_address: 127\.0\.0\.1$/m);
    assert.match(yaml, /^native_transport_port: 9042$/m);
    assert.match(yaml, /^hinted_handoff_enabled: false$/m);
    assert.ok(yaml.includes(`commitlog_directory: '${path.join(dir, 'single', 'run', 'data', 'commitlog')}'`));
    assert.ok(yaml.endsWith('slow_query_log_timeout: 500ms\n'));
    assert.ok(logback.includes('<file>${cassandra.logdir}/system.log</file>'), 'logback keeps its own ${...} untouched');
  });

  it('when a ring node sets its own knobs and extra YAML, then they replace the defaults and the lines are appended', () => {
    const { yaml } = writeConfig(path.join(dir, 'ring'), {
      CFG_ADDR: '127.0.0.3', CFG_PORT: '9043', CASSANDRA_CLUSTER_NAME: 'Ring', CASSANDRA_SEEDS: '127.0.0.2:7000',
      CASSANDRA_INITIAL_TOKEN: '-3074457345618258603', CASSANDRA_HINTED_HANDOFF: 'true', CASSANDRA_EXTRA_YAML: 'sstable:\n  selected_format: bti',
    });
    assert.match(yaml, /^cluster_name: 'Ring'$/m);
    assert.match(yaml, /^initial_token: -3074457345618258603$/m);
    assert.match(yaml, /^ {6}- seeds: "127\.0\.0\.2:7000"$/m);
    assert.match(yaml, /^rpc_address: 127\.0\.0\.3$/m);
    assert.match(yaml, /^native_transport_port: 9043$/m);
    assert.match(yaml, /^hinted_handoff_enabled: true$/m);
    assert.ok(yaml.endsWith('\n# CASSANDRA_EXTRA_YAML\nsstable:\n  selected_format: bti\n'));
  });

  it('when a value holds &, \\ and |, then render writes it literally', () => {
    const tmpl = path.join(dir, 'value.tmpl');
    writeFileSync(tmpl, 'path: @P@\nagain: @P@\n\n');
    const r = bash(`source ${JSON.stringify(LIB)}/render.sh; render "$T" P='/a&b\\c|d'`, { T: tmpl });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'path: /a&b\\c|d\nagain: /a&b\\c|d\n\n');
  });

  it('when a placeholder has no value, then render fails and names it', () => {
    const r = bash(`source ${JSON.stringify(LIB)}/render.sh; render scripts/dev/cassandra/cassandra.yaml.tmpl HOST=127.0.0.1`);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /render: @[A-Z_]+@ in scripts\/dev\/cassandra\/cassandra\.yaml\.tmpl has no value/);
  });
});
