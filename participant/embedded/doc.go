// Package embedded is the default participant adapter: a small durable
// key-value store on bbolt with per-key exclusive locks and prepared
// intents. *Store implements participant.Resource[*Tx].
//
// A local transaction (Tx) takes an exclusive in-memory lock on every key it
// reads or writes and buffers its writes. Prepare writes the buffered writes
// and the keys only read as an intent, fsync'd, and keeps the locks; Commit applies the intent,
// deletes it and records the outcome in one bbolt transaction. Abort records
// a tombstone so a late Prepare is refused. On Open, prepared intents
// re-acquire the locks of every key they wrote or read, so no transaction
// can see around in-doubt work nor change what a prepared one read.
//
// Buckets: "data" (committed values), "intents" (tx ID -> deadline, writes
// and read keys), "outcomes" (tx ID -> committed or aborted, and when),
// "decided" (decision time + tx ID, the order PruneOutcomes deletes in),
// "meta" (highest fencing term).
package embedded
