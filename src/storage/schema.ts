/**
 * Versioned CQL migrations. `{hot}`, `{cold}` and `{replication}` are filled from config, so keyspace names and
 * replication stay configuration. Every statement is idempotent (IF NOT EXISTS), so a run interrupted half-way
 * is finished by the next one.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

// TTL-only tables: TWCS drops whole SSTables once everything in them expired; no DELETE ever touches them,
// so a short gc_grace is safe (there is no tombstone that could be resurrected).
const TTL_TABLE = `compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS',
  'compaction_window_size': 6} AND gc_grace_seconds = 10800`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'messages, delivery cursors, expiry index, cold store, leases',
    statements: [
      `CREATE TABLE IF NOT EXISTS {hot}.messages_by_id (
         id bigint PRIMARY KEY, username text, text text, expires_at timestamp
       ) WITH ${TTL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS {hot}.messages_by_user (
         username text, id bigint, text text, expires_at timestamp,
         PRIMARY KEY ((username), id)
       ) WITH CLUSTERING ORDER BY (id ASC) AND ${TTL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS {hot}.expiry_index (
         bucket bigint, shard int, expires_at timestamp, id bigint, username text, text text,
         PRIMARY KEY ((bucket, shard), expires_at, id)
       ) WITH ${TTL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS {hot}.delivery_cursors (
         username text PRIMARY KEY, version int, watermark bigint, recent frozen<set<bigint>>
       )`,
      `CREATE TABLE IF NOT EXISTS {hot}.writer_leases (
         writer_id int PRIMARY KEY, owner text, valid_until bigint
       )`,
      `CREATE TABLE IF NOT EXISTS {hot}.archiver_state (
         name text PRIMARY KEY, swept_until bigint, updated_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS {cold}.messages (
         id bigint PRIMARY KEY, username text, text text, expired_at timestamp, reason text
       )`,
    ],
  },
  {
    version: 2,
    name: 'idempotency keys for POST /chat',
    statements: [
      `CREATE TABLE IF NOT EXISTS {hot}.idempotency_keys (
         key text PRIMARY KEY, id bigint, fingerprint text
       ) WITH ${TTL_TABLE}`,
    ],
  },
  {
    version: 3,
    name: 'consumed_at on messages_by_id: a get reads one table',
    statements: [
      'ALTER TABLE {hot}.messages_by_id ADD IF NOT EXISTS consumed_at timestamp',
    ],
  },
  {
    version: 4,
    name: 'claim on delivery_cursors: a not-applied cursor CAS tells whether it was our own write',
    statements: [
      'ALTER TABLE {hot}.delivery_cursors ADD IF NOT EXISTS claim uuid',
    ],
  },
  {
    version: 5,
    name: 'archiver progress inside a bucket: a run killed mid-bucket resumes where it was',
    statements: [
      `CREATE TABLE IF NOT EXISTS {hot}.archiver_progress (
         name text, shard int, bucket bigint, expires_at timestamp, id bigint,
         PRIMARY KEY ((name), shard)
       )`,
    ],
  },
  {
    version: 6,
    name: 'chat applications: numbered chats and messages, counters, counts, the bucketed change log',
    statements: [
      // Keyed by the public token; app_id (internal, never in a response) keys everything below it.
      `CREATE TABLE IF NOT EXISTS {hot}.chat_applications (
         app_token text PRIMARY KEY, app_id uuid, name text, version int, created_at timestamp, updated_at timestamp
       )`,
      // Chats and messages are bucketed by number range (1000 numbers per partition): a 10 M-message chat is
      // 10,000 bounded partitions, never one unbounded one.
      `CREATE TABLE IF NOT EXISTS {hot}.chats (
         app_id uuid, bucket int, number bigint, name text, version int, created_at timestamp, updated_at timestamp,
         PRIMARY KEY ((app_id, bucket), number)
       ) WITH CLUSTERING ORDER BY (number ASC)`,
      `CREATE TABLE IF NOT EXISTS {hot}.chat_messages (
         app_id uuid, chat_number bigint, bucket int, number bigint, body text, version int,
         created_at timestamp, updated_at timestamp,
         PRIMARY KEY ((app_id, chat_number, bucket), number)
       ) WITH CLUSTERING ORDER BY (number ASC)`,
      // chat_number 0 = the application's chat counter; n > 0 = chat n's message counter.
      `CREATE TABLE IF NOT EXISTS {hot}.number_counters (
         app_id uuid, chat_number bigint, next bigint, PRIMARY KEY ((app_id, chat_number))
       )`,
      `CREATE TABLE IF NOT EXISTS {hot}.chat_idempotency_keys (
         app_id uuid, chat_number bigint, key text, number bigint, fingerprint text,
         PRIMARY KEY ((app_id, chat_number, key))
       ) WITH ${TTL_TABLE}`,
      // Derived counts: rows per number bucket (recounted from the source partition), and their totals.
      `CREATE TABLE IF NOT EXISTS {hot}.chat_bucket_counts (
         app_id uuid, chat_number bigint, bucket int, row_count int, PRIMARY KEY ((app_id, chat_number), bucket)
       )`,
      `CREATE TABLE IF NOT EXISTS {hot}.chat_counts (
         app_id uuid, bucket int, chat_number bigint, total bigint, counted_at timestamp,
         PRIMARY KEY ((app_id, bucket), chat_number)
       )`,
      // A durable, time-bucketed log: appended, never deleted (TTL only), walked by consumers from checkpoints.
      `CREATE TABLE IF NOT EXISTS {hot}.bucketed_log (
         log text, bucket bigint, shard int, entry timeuuid, body text,
         PRIMARY KEY ((log, bucket, shard), entry)
       ) WITH ${TTL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS {hot}.bucketed_log_checkpoints (
         log text, consumer text, done_until bigint, updated_at timestamp, PRIMARY KEY ((log), consumer)
       )`,
    ],
  },
  {
    version: 7,
    name: 'editing chat messages: a deleted flag and the edit lease as TTL cells on the message row',
    statements: [
      // A delete keeps the row (deleted_at set, body emptied): the number stays taken for IF NOT EXISTS and no
      // row tombstone is ever written. The lease cells carry a TTL of at most 300 s.
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS deleted_at timestamp',
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS lease_token text',
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS lease_expires_at timestamp',
      // The only tombstones in this table are lease cells (released: null; lapsed: expired TTL). Each shadows a
      // cell whose own TTL (<= 300 s) ends long before 3 h, so dropping a tombstone early can resurrect nothing
      // live; 3 h keeps the default hint window (max_hint_window 3 h) within gc_grace, so no hint is discarded.
      'ALTER TABLE {hot}.chat_messages WITH gc_grace_seconds = 10800',
    ],
  },
  {
    version: 8,
    name: 'bucketed log progress inside a bucket: a consumer killed mid-bucket resumes each shard where it was',
    statements: [
      // One row per (log, consumer, shard), overwritten after every slice: every entry up to `position` is done.
      `CREATE TABLE IF NOT EXISTS {hot}.bucketed_log_progress (
         log text, consumer text, shard int, bucket bigint, position timeuuid,
         PRIMARY KEY ((log, consumer), shard)
       )`,
    ],
  },
  {
    version: 9,
    name: 'claim on number_counters: an allocator whose counter write timed out recognises its own range',
    statements: [
      'ALTER TABLE {hot}.number_counters ADD IF NOT EXISTS claim uuid',
    ],
  },
  {
    // 10, not 9: the chats branch (issue 26, B13) adds 9 (a claim on number_counters); each version applies alone.
    version: 10,
    name: 'claims on delivery_cursors: a cursor CAS whose answer was lost is recognised after others wrote on top',
    statements: [
      // The last CURSOR_CLAIM_HISTORY (16) claims, newest first: 16 uuids, 256 bytes per user.
      'ALTER TABLE {hot}.delivery_cursors ADD IF NOT EXISTS claims frozen<list<uuid>>',
    ],
  },
  {
    version: 11,
    name: 'message bodies in files: the current object, its digest and size, and the version history on the row',
    statements: [
      // body_key: the current version's object (null: the body is the `body` cell itself, CHAT_BODY_STORE=cassandra
      // or a row written before this version); `body` then holds the first CHAT_BODY_INLINE_BYTES (search, lists).
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS body_key text',
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS body_digest text',
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS body_size int',
      // The retained versions as one JSON cell, rewritten by the same conditional write that moves `version`, so
      // the history can never disagree with the row; at most CHAT_HISTORY_MAX_VERSIONS entries of ~190 bytes.
      'ALTER TABLE {hot}.chat_messages ADD IF NOT EXISTS history text',
    ],
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
