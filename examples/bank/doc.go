// Package bank is the example participant service (not part of the SDK:
// an application built on it) used by cmd/bank, the demo, the benchmark and
// the fault-injection suite: accounts with integer balances on the embedded
// store, in PostgreSQL (pg.go) or in MySQL/MariaDB (mysql.go). Transfers
// arrive either as coordinator-driven branch payloads (Handler) or as
// service-driven calls of the Bank gRPC service (Apply) under the
// transaction ID carried in gRPC metadata. A balance never goes negative:
// an op that would make it so makes the branch vote no.
package bank
