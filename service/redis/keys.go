package redis

// Key layout. Keys that one script or transaction touches together share a
// hash tag ({…}), so on a Redis Cluster they sit in one slot:
//
//   - {prefix}{core}:…: the outbox streams and dead letters (Ack and
//     DeadLetter are transactions over a lane and the dead-letter stream),
//     the session leases with their fencing counters and the running set
//     (one script checks a lease and adds to the outbox: a fenced write),
//     the instance registry and the simulated devices. They all live on one
//     master; they are small and deleted once delivered.
//   - {prefix}qr:{<id>} and {prefix}status:{<id>}: the cache, spread over
//     the Cluster by session (Invalidate deletes both keys of one session).
//
// A prefix must not contain '{', or its tag would win.

// coreTag is the hash tag of every coordination key.
const coreTag = "{core}:"

// coreKey names a coordination key.
func coreKey(prefix, name string) string { return prefix + coreTag + name }

// sessionKey names a per-session cache key, tagged by the session id.
func sessionKey(prefix, kind, id string) string { return prefix + kind + ":{" + id + "}" }
