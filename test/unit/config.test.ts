import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config.js';

describe('configuration', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8080);
    assert.deepEqual(c.CASSANDRA_CONTACT_POINTS, ['127.0.0.1:9042']);
    assert.equal(c.CASSANDRA_LOCAL_DC, 'datacenter1');
    assert.equal(c.CASSANDRA_CONSISTENCY, 'LOCAL_ONE');
    assert.equal(c.CASSANDRA_SERIAL_CONSISTENCY, 'LOCAL_SERIAL');
    assert.deepEqual(c.CASSANDRA_REPLICATION, { class: 'SimpleStrategy', replication_factor: 1 });
  });

  it('when replication names a datacenter, then it becomes NetworkTopologyStrategy', () => {
    const c = loadConfig({ CASSANDRA_REPLICATION: 'dc1:3', CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM' });
    assert.deepEqual(c.CASSANDRA_REPLICATION, { class: 'NetworkTopologyStrategy', dc1: 3 });
  });

  it('when replication names two datacenters, then start-up is refused (LOCAL_SERIAL is per datacenter)', () => {
    assert.throws(() => loadConfig({ CASSANDRA_REPLICATION: 'dc1:3,dc2:3', CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM' }),
      /CASSANDRA_REPLICATION: names more than one datacenter/);
  });

  it('when consistency is LOCAL_ONE with a replication factor above 1, then start-up is refused', () => {
    assert.throws(() => loadConfig({ CASSANDRA_REPLICATION: 'dc1:3' }), /CASSANDRA_CONSISTENCY: LOCAL_ONE/);
    assert.throws(() => loadConfig({ CASSANDRA_REPLICATION: 'SimpleStrategy:3', CASSANDRA_CONSISTENCY: 'ONE' }),
      /CASSANDRA_CONSISTENCY: ONE/);
  });

  it('when the clock-skew budget leaves too short an acknowledgement deadline, then start-up is refused', () => {
    assert.throws(() => loadConfig({ DELIVERY_SETTLE_MS: '10000', MAX_CLOCK_SKEW_MS: '6000' }), /DELIVERY_SETTLE_MS/);
    assert.doesNotThrow(() => loadConfig({ DELIVERY_SETTLE_MS: '10000', MAX_CLOCK_SKEW_MS: '5000' }));
  });

  it('when timeout plus grace exceed Cassandra\'s 20-year TTL cap, then start-up is refused', () => {
    assert.throws(() => loadConfig({ MAX_TIMEOUT_SECONDS: '630000000', HOT_GRACE_SECONDS: '1000000' }),
      /HOT_GRACE_SECONDS/);
  });

  it('when variables are invalid, then the error names each bad variable', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty', CASSANDRA_CONSISTENCY: 'MOST', CASSANDRA_REPLICATION: 'x' }),
      (e: Error) => e instanceof ConfigError && /PORT/.test(e.message) && /CASSANDRA_CONSISTENCY/.test(e.message)
        && /CASSANDRA_REPLICATION/.test(e.message));
  });

  it('when ADMIN_TOKEN is unset, short or not a bearer token, then it is unset or refused by name; the creates limit is on by default', () => {
    const c = loadConfig({});
    assert.equal(c.ADMIN_TOKEN, undefined);
    assert.equal(c.RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE, 10);
    assert.equal(c.RATE_LIMIT_APPLICATION_CREATES_BURST, 30);
    for (const bad of ['x'.repeat(31), `${'x'.repeat(40)} space`, `${'x'.repeat(40)}"`, 'é'.repeat(40)]) {
      assert.throws(() => loadConfig({ ADMIN_TOKEN: bad }), /ADMIN_TOKEN: must be 32-512 characters/, bad);
    }
    const token = 'kQ3+/u8x0Zb1_-.~abcdefghijklmnopqrstuvwx==';
    assert.equal(loadConfig({ ADMIN_TOKEN: token }).ADMIN_TOKEN, token, 'openssl rand -base64 32 output is accepted');
    assert.throws(() => loadConfig({ RATE_LIMIT_APPLICATION_CREATES_BURST: '0' }), /RATE_LIMIT_APPLICATION_CREATES_BURST/);
  });

  it('when USER_ROW_GRACE_SECONDS is unset, then per-user rows outlive their timeout by 60 s; 0 is refused by name', () => {
    assert.equal(loadConfig({}).USER_ROW_GRACE_SECONDS, 60);
    assert.throws(() => loadConfig({ USER_ROW_GRACE_SECONDS: '0' }), /USER_ROW_GRACE_SECONDS/);
  });

  it('when the settle window is shorter than two request timeouts, then start-up is refused', () => {
    assert.throws(() => loadConfig({ DELIVERY_SETTLE_MS: '3000', CASSANDRA_REQUEST_TIMEOUT_MS: '2000' }), /DELIVERY_SETTLE_MS/);
  });
});
