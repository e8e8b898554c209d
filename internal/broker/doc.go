// Package broker runs a real NATS server with JetStream (nats-server/v2,
// in this process) on a directory of its own, for the tests, the demo and
// the fault suite: it can be stopped and started again on the same port
// and store, as a broker restart. It also reads a stream back, message by
// message, for checkers.
package broker
