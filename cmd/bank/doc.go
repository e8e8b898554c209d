// Command bank is the example participant service: accounts on the embedded
// store, in PostgreSQL with --postgres, or in MySQL/MariaDB (XA) with
// --mysql, joined to Arbiter transactions through the participant SDK. It
// serves the Participant API (for the coordinators) and the Bank API (for
// clients) on one port.
package main
