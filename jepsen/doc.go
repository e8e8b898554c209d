// Command jepsen is Arbiter's fault-injection suite, the control node of a
// Jepsen-style test: it builds the binaries (with crash points compiled in),
// starts three coordinators and three bank participants as real processes,
// runs a workload while nemeses inject faults, heals, waits for recovery,
// checks the invariants and writes a report per run.
//
//	go run ./jepsen --workload bank --nemesis kill-leader,partition-ring --duration 30s
//	go run ./jepsen --workload race --nemesis crash-points,kill-leader --duration 30s --commit-mode one-shot
//	go run ./jepsen --matrix standard
//	go run ./jepsen --postgres --nemesis kill-participant,kill-leader --duration 30s
//	go run ./jepsen --mysql --nemesis kill-participant,kill-leader --duration 30s
//
// The race workload races the API's calls on one transaction ID (late
// enlists against Commit, Abort against one-shots, retries with other
// branches or past the uniqueness window, early Resolve, unstorable
// account names); its coordinators run with a short --uniqueness-window.
//
// --postgres runs every bank on PostgreSQL (one throwaway server per bank,
// started and removed by the suite; needs the PostgreSQL server binaries),
// --mysql on MariaDB over XA likewise (needs mariadb-server). The standard
// matrix always ends with one PostgreSQL cell and one MariaDB cell.
package main
