import cassandra from 'cassandra-driver';
const c = new cassandra.Client({ contactPoints: ['127.0.0.1:9042'], localDataCenter: 'datacenter1' });
const rs = await c.execute('SELECT keyspace_name FROM system_schema.keyspaces');
console.log(rs.rows.map(r => r.keyspace_name).join(' '));
await c.shutdown();
