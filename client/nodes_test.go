package client

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// notLeader is a status as a coordinator that does not lead answers it
// (coordinator/forward.go): UNAVAILABLE, with an ErrorInfo detail naming
// the leader when addr is not "-".
func notLeader(t *testing.T, code codes.Code, reason, addr string) error {
	t.Helper()
	st := status.New(code, "no leader available: node n2 does not lead; the leader is n1 at "+addr)
	if addr == "-" {
		return st.Err()
	}
	st, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "arbiter",
		Metadata: map[string]string{"leader-id": "n1", "leader-addr": addr}})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// LeaderHint reads the address only from an UNAVAILABLE answer whose
// NOT_LEADER detail names a host:port, never from the message's wording.
func TestLeaderHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"names the leader", notLeader(t, codes.Unavailable, "NOT_LEADER", "10.0.0.1:7001"), "10.0.0.1:7001"},
		{"host name", notLeader(t, codes.Unavailable, "NOT_LEADER", "coord-1.svc:7001"), "coord-1.svc:7001"},
		{"no detail, only the wording", notLeader(t, codes.Unavailable, "", "-"), ""},
		{"leader address unknown", notLeader(t, codes.Unavailable, "NOT_LEADER", ""), ""},
		{"not host:port", notLeader(t, codes.Unavailable, "NOT_LEADER", "somewhere"), ""},
		{"another reason", notLeader(t, codes.Unavailable, "SOMETHING_ELSE", "10.0.0.1:7001"), ""},
		{"other code", notLeader(t, codes.FailedPrecondition, "NOT_LEADER", "10.0.0.1:7001"), ""},
		{"not a status", errors.New("the leader is n1 at 10.0.0.1:7001"), ""},
	} {
		if got := LeaderHint(tc.err); got != tc.want {
			t.Errorf("%s: LeaderHint = %q, want %q", tc.name, got, tc.want)
		}
	}
}
