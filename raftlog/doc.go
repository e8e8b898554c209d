// Package raftlog is Arbiter's replicated decision log: hashicorp/raft wired
// to raft-boltdb or raft-wal (Config.LogStore) and a file snapshot store,
// plus the FSM that holds the transaction table.
//
// Log entries are one CommandType byte followed by a protobuf payload (see
// Encode and Decode). The FSM is deterministic: every field a command needs
// (IDs, deadlines, outcomes) is chosen by the leader before it proposes, and
// every mutation is stamped with the Raft log index. The central rule is that
// DECIDE is write-once: the first decision applied for a transaction wins and
// every later DECIDE returns it with Result.AlreadyDecided set.
//
// Node wraps *raft.Raft: Apply waits for commit and apply and maps Raft's
// errors onto ErrNotLeader and ErrOutcomeUnknown; LeaderChanges reports
// leadership transitions without ever blocking Raft. See DESIGN.md for the
// key decisions and trade-offs.
package raftlog
