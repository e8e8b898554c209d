// Package outbox is a participant whose branch is "publish these
// messages": on Prepare it stores the branch's messages durably in its own
// embedded store and votes yes; on COMMIT the messages become pending and a
// publisher sends them to NATS JetStream, each with a message ID
// (Nats-Msg-Id) derived from the transaction, the branch and the message's
// sequence, and deletes each once JetStream has acknowledged it; on ABORT
// they are dropped with the rest of the transaction's work.
//
// Exactly once, within the stream's duplicate window: a message whose
// publish was acknowledged but whose deletion did not happen (a crash in
// between, a lost acknowledgement retried) is published again with the same
// ID, and JetStream drops it if the first copy is still within the window
// (StreamConfig.Duplicates, Config.DuplicateWindow, 2 minutes by default).
// Past the window a republish is stored a second time: that takes an
// outbox down between a publish and its deletion for longer than the
// window. Consumers that must be exact past it deduplicate on the
// Nats-Msg-Id header, which is the same on every copy.
//
// While the broker is down the publisher retries with capped exponential
// backoff; pending messages are on disk, so a restarted outbox process
// publishes what it had not. Nothing aborted is ever pending, so nothing
// aborted is ever published. Messages of different transactions are not
// ordered; those of one transaction are published in sequence.
//
// Usage: open an embedded.Store, make an Outbox over it, run the agent with
// ob.Resource() and ob.Handler, and ob.Run(ctx) in a goroutine. Clients add
// a branch {ParticipantId: <the outbox's ID>, Payload: EncodePayload(msgs...)}.
package outbox
