// Command bank is the example participant service: accounts on the embedded
// store, or in PostgreSQL with --postgres, joined to Arbiter transactions
// through the participant SDK. It serves the Participant API (for the
// coordinators) and the Bank API (for clients) on one port.
package main
