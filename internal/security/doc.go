// Package security holds what every Arbiter process needs for mutual TLS:
// a certificate source that reloads its files on SIGHUP, server and client
// TLS configurations over it, gRPC transport credentials, the identities
// carried in certificate URI SANs (arbiter://<role>/<id>), how a caller's
// identity travels through a coordinator that forwards a call, and a small
// development CA (arbiter certs, the tests and the demo).
package security
