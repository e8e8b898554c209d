// Package embedded is the default participant adapter: a small durable
// key-value store with per-key exclusive locks and prepared intents.
// *Store implements participant.Resource[*Tx].
//
// A local transaction (Tx) takes an exclusive in-memory lock on every key it
// reads or writes and buffers its writes. Prepare makes the buffered writes
// and the keys only read durable as an intent and keeps the locks; Commit
// applies the intent and records the outcome; Abort records a tombstone so
// a late Prepare is refused. On Open, prepared intents re-acquire the locks
// of every key they wrote or read, so no transaction can see around
// in-doubt work nor change what a prepared one read.
//
// Durability: one fdatasync per group commit. Every write (prepare,
// commit, abort, one-phase commit, term raise) appends a checksummed
// record to an intent log (the directory path+".wal", segments zero-filled
// in advance) and is answered only after the fdatasync that covers it;
// writes that queue while one fdatasync runs share the next. A write alone
// costs one fdatasync; under concurrency, a fraction. An in-memory overlay
// serves what the log holds and bbolt does not yet; a checkpoint applies
// the records to bbolt (at path) in one bbolt transaction, off the write
// path, every 4096 records, 2 MiB or second, before PruneOutcomes and at
// Close, then deletes the segments they filled. Open replays what no
// checkpoint applied; a damaged tail of the last segment (a write no
// fdatasync covered, so never answered) is dropped, damage anywhere else
// refuses the open (ErrCorruptLog) and changes nothing.
//
// Buckets (bbolt): "data" (committed values), "intents" (tx ID -> deadline,
// writes and read keys), "outcomes" (tx ID -> committed or aborted, and
// when), "decided" (decision time + tx ID, the order PruneOutcomes deletes
// in), "meta" (highest fencing term, LSN of the last record applied).
package embedded
