// Package sectest mints throwaway certificate authorities and identities
// for tests: real ECDSA certificates in a temporary directory, valid for
// loopback (127.0.0.1, ::1, localhost).
package sectest
