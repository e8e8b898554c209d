// Command bench measures Arbiter's throughput, latency and cost per
// transaction against two baselines run with the same driver: the RPC floor
// (the same gRPC round trips to no-op services, no disk) and a single-node
// coordinator. It builds the binaries, starts each system as real processes
// on loopback in turn, drives closed-loop load at a sweep of concurrencies
// and writes a table, a JSON file and an SVG plot.
//
//	go run ./cmd/bench --quick   # about a minute
//	go run ./cmd/bench           # the full sweep, about ten minutes
//
// The bench binary also serves the floor's stand-in processes, as the
// subcommands "bench floor-coordinator" and "bench floor-participant".
//
// What is measured, per step (one system at one concurrency):
//
//   - A transaction has two branches on two different participants, each
//     crediting +1 to an account no other transaction touches (no lock
//     contention), committed in one Commit call (a one-shot transaction,
//     client.Run) in the standard mode; rows named "parallel" use
//     parallel commit, rows named "begin+commit" call Begin first (full
//     runs only). The floor makes the same round trips as the standard
//     rows. The participant sweep uses Begin+Commit, which is two-phase
//     even with one branch. Workers are closed-loop: each starts its next
//     transaction when the previous one returns.
//   - After the warm-up, a transaction counts if it returns inside the
//     measurement window; tx/s is committed ones over the window, and the
//     latency percentiles (nearest rank) are over committed ones only.
//     Aborts and errors are counted and reported, never hidden.
//   - CPU per transaction is the change in utime+stime of every process of
//     the system plus the driver itself across the window, over committed.
//   - Raft log entries and fsyncs per transaction are the change in the
//     leader's log_entries and log_writes (Cluster RPC) over committed;
//     absent for the floor, or when the leader changed during the step.
//   - Where the time goes: every Arbiter process serves /metrics during
//     the run, and each step reads its timers at both edges of the window
//     (breakdown.go): the leader's Commit call, prepare round and decide
//     phase, each participant's Prepare and its durable write, each Raft
//     entry's commit, log write (leader and followers) and FSM apply. A
//     stage is the change in a histogram's sum over the change in its
//     count (a mean per observation); derived lines, such as client <->
//     leader (the driver's mean minus the leader's Commit call), say so.
//     Printed at concurrency 1 and at each series' best concurrency, in
//     the JSON for every step, with each process's CPU per transaction.
//   - The physical limit (physical.go), measured in the same run: 4 KiB
//     append + fdatasync in the data directory, and a unary gRPC round
//     trip on loopback; standard commit's bound is 3 round trips + 2
//     fsyncs, parallel commit's 2 round trips + 1 fsync, and the report
//     prints each mode's p50 at concurrency 1 as a multiple of its bound.
//   - The client lists the leader first, so it pays no forwarding hop.
//   - Parallel against standard commit at concurrency 1 is also measured
//     interleaved on the 3-node system (each pair of transactions runs
//     both, in random order): separate steps at concurrency 1 on a shared
//     2-core machine differ by more than the effect being measured.
//
// The machine's CPU count and load average are recorded with the results:
// on a shared machine the figures are noisy.
package main
