// Command demo runs Arbiter end to end on one machine: it builds the
// binaries, starts three coordinator processes and three bank participants
// on loopback, runs concurrent cross-bank transfers for a while, SIGKILLs
// and restarts a participant and the coordinator leader along the way, then
// waits for everything to settle and checks that money was conserved and
// nothing is left in doubt. It exits non-zero if not. With --postgres, each
// bank keeps its accounts in a PostgreSQL server of its own, which the demo
// starts (initdb into a temporary directory) and removes at the end; with
// --mysql, in a MariaDB server of its own (mariadb-install-db, XA
// branches), likewise.
package main
