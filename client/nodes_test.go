package client

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// leaderHint reads the address only from an UNAVAILABLE answer that names
// a leader with a host:port, as coordinator.noLeader words it.
func TestLeaderHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"names the leader", status.Error(codes.Unavailable,
			"no leader available: node n2 does not lead; the leader is n1 at 10.0.0.1:7001"), "10.0.0.1:7001"},
		{"host name", status.Error(codes.Unavailable,
			"no leader available: node n2 does not lead; the leader is n1 at coord-1.svc:7001"), "coord-1.svc:7001"},
		{"knows no leader", status.Error(codes.Unavailable,
			"no leader available: node n2 does not lead and knows no leader; retry shortly"), ""},
		{"leader address unknown", status.Error(codes.Unavailable,
			"no leader available: node n2 does not lead; the leader is n1 at "), ""},
		{"leader changed while forwarding", status.Error(codes.Unavailable,
			"no leader available: the leader changed while node n2 was forwarding to n1; retry"), ""},
		{"not host:port", status.Error(codes.Unavailable,
			"no leader available: node n2 does not lead; the leader is n1 at somewhere"), ""},
		{"other code", status.Error(codes.FailedPrecondition,
			"node n2 does not lead; the leader is n1 at 10.0.0.1:7001"), ""},
		{"not a status", errors.New("the leader is n1 at 10.0.0.1:7001"), ""},
	} {
		if got := leaderHint(tc.err); got != tc.want {
			t.Errorf("%s: leaderHint = %q, want %q", tc.name, got, tc.want)
		}
	}
}
