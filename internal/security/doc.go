// Package security holds what every Arbiter process needs for mutual TLS:
// a certificate source that reloads its files on SIGHUP, server and client
// TLS configurations over it, gRPC transport credentials, the identities
// carried in certificate URI SANs (arbiter://<role>/<id>), how a caller's
// identity travels through a coordinator that forwards a call, and a small
// development CA (arbiter certs, the tests and the demo).
//
// Identity binding works both ways. A server checks who connected (the
// Raft port admits member coordinators only: MemberCheck; the gRPC
// interceptors check roles, and Caller believes forwarded-caller metadata
// only from members). A client checks who answered: DialOption expects a
// coordinator, DialTo a given role and ID (a coordinator dialing
// participant/<id>), and a mismatch fails the handshake with ErrWrongPeer.
package security
