// Package pgtest starts throwaway PostgreSQL servers for tests: initdb into
// a temporary directory, a server on a free loopback port with prepared
// transactions enabled, and controls to crash and restart it on the same
// data directory.
//
// It needs the PostgreSQL server binaries (Debian: apt-get install
// postgresql; found under /usr/lib/postgresql/<version>/bin, on PATH, or in
// $ARBITER_PG_BIN). Running as root, the server runs as the "postgres"
// system user through runuser, since PostgreSQL refuses to run as root.
// Servers left behind by a test process that died (panic, timeout) are
// stopped and removed by the next New. When no server can start, Start skips the test, or fails it if
// ARBITER_REQUIRE_POSTGRES=1 (CI sets it).
package pgtest
