// Package proxy is a userspace TCP proxy for fault injection without root:
// put a Proxy between two processes and delay, block, lose or reset their
// traffic, per source.
//
// Every connection accepted on the listen address is forwarded to the
// target by a reader and a writer goroutine per direction, joined by a small
// bounded queue of chunks (whatever one read returned). Faults act on
// chunks, through a Faults value: the proxy's own (embedded), or, when a
// classifier names the connection's source (SetClassifier), that source's
// (From), so one proxy in front of a service carries one link per source.
//
//   - SetLatency: each chunk is released d±jitter (uniform) after it was
//     read. Release times never go backwards, so order is preserved per
//     direction; a latency change applies to chunks read afterwards.
//   - SetLoss: TCP cannot lose bytes and a byte stream cannot skip any, so
//     with the given probability a chunk is discarded and its connection
//     reset (both sides closed with SO_LINGER 0). The processes see real
//     loss at the application level: every RPC in flight on the connection
//     fails and must be retried on a new one.
//   - Block(true) acts like a DROP partition: established connections stop
//     forwarding (queued bytes are held, not discarded; once the queue is
//     full the proxy stops reading, so the senders' writes eventually block),
//     and new connections are accepted but held silent, without dialing the
//     target, until unblocked. Nothing is closed, so a message sent while
//     blocked arrives after the unblock: a delayed message, not a lost one.
//   - Reset closes every current connection, like a crashed middlebox.
//
// Mesh puts a proxy in front of every service of every node and offers the
// partition API of package netns (Cut, Partition, Isolate, Heal, Rules),
// plus one-way Hold/Release, latency and loss per directed link. On
// loopback every process dials from 127.0.0.1, so SocketOwner tells the
// sources apart by asking the kernel which process owns the remote end
// (/proc/net/tcp and /proc/<pid>/fd; Linux only, no root needed for one's
// own processes).
//
// Close stops listening, closes everything and waits for every goroutine.
package proxy
