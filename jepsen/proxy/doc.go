// Package proxy is a userspace TCP proxy for fault injection without root:
// put a Proxy between two processes on loopback and delay, stall, block or
// reset their traffic.
//
// Every connection accepted on the listen address is forwarded to the
// target by a reader and a writer goroutine per direction, joined by a small
// bounded queue of chunks (whatever one read returned). Faults act on
// chunks:
//
//   - SetLatency: each chunk is released d±jitter (uniform) after it was
//     read. Release times never go backwards, so order is preserved per
//     direction; a latency change applies to chunks read afterwards.
//   - SetLoss: TCP cannot lose bytes, so loss is emulated the way the
//     sender would experience it: with the given probability a chunk is
//     held for an extra LossStall (200ms, about one minimum TCP
//     retransmission timeout) on top of the latency, and the chunks behind
//     it wait too.
//   - Block(true) acts like a DROP partition: established connections stop
//     forwarding (queued bytes are held, not discarded; once the queue is
//     full the proxy stops reading, so the senders' writes eventually block),
//     and new connections are accepted but held silent, without dialing the
//     target, until unblocked. Nothing is closed.
//   - Reset closes every current connection, like a crashed middlebox.
//
// Close stops listening, closes everything and waits for every goroutine.
package proxy
