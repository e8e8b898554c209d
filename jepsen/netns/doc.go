// Package netns builds a small private network out of Linux network
// namespaces so the fault-injection suite can cut real links between
// processes.
//
// Create makes one bridge in the root namespace (the control node, address
// .1 of a private 10.213.<k>.0/24 subnet, through which the harness reaches
// every node) and one namespace per node, attached to the bridge by a veth
// pair, with address .(10+i). Processes run inside a node's namespace with
// Net.Command.
//
// Faults are iptables DROP rules by peer address in a dedicated ARB-CUT
// chain inside each node's namespace, jumped to from INPUT and OUTPUT. They
// use no connection tracking, so established TCP connections stop passing
// bytes as soon as a link is cut, and resume (by retransmission) once it is
// healed. The control node is never cut.
//
// Everything needs root and the ip and iptables commands (Available reports
// what is missing). Object names carry the caller's prefix; Create removes
// stale objects left with the same prefix by a crashed run.
package netns
