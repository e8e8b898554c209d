// Package mysqltest starts throwaway MariaDB (or MySQL) servers for tests:
// mariadb-install-db into a temporary directory, mariadbd on a free
// loopback port and a socket of its own, with the binlog on and the
// durable settings (innodb_flush_log_at_trx_commit=1, sync_binlog=1) under
// which XA durability bugs show, and controls to stop, crash (SIGKILL) and
// restart it on the same data directory.
//
// It needs the server binaries (Debian: apt-get install mariadb-server;
// mariadbd and mariadb-install-db are looked up in $ARBITER_MYSQL_BIN,
// /usr/sbin, /usr/bin and PATH). Running as root, mariadbd is started with
// --user=mysql (it refuses to run as root) and its directories belong to
// that user. Servers left behind by a test process that died (panic,
// timeout) are killed and removed by the next New. When no server can
// start, Start skips the test, or fails it if ARBITER_REQUIRE_MYSQL=1 (CI
// sets it).
package mysqltest
