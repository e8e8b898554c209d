// Package healthprobe is the one health check the module's reachability
// views share (issue 14): the coordinators' view of the participants
// (coordinator/health.go), a follower's view of its link to the leader
// (coordinator/leaderlink.go) and a participant's view of the coordinators
// (participant/coordclient.go). Each sends the standard gRPC health check
// on the connection its real calls use and classifies the answer, or the
// error of any call, the same way: any answer from the server means the
// peer is reachable, a refused connection or NOT_SERVING means it is down
// at once, and no answer in time (or a transport failure that is not a
// refusal) is a timeout, of which a view counts several in a row before it
// calls the peer down.
package healthprobe

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Result is what one check or call says about the peer.
type Result int

const (
	// Answered: the peer's server answered (an error status counts: only
	// a server sends one). It is reachable.
	Answered Result = iota
	// Silent: the caller gave up (its context was cancelled) or the error
	// says nothing about the peer. Nothing to record.
	Silent
	// Timeout: no answer in time, or the connection failed in a way other
	// than a refusal (reset, handshake cut short, no route).
	Timeout
	// Refused: the connection was refused: nothing listens there.
	Refused
	// NotServing: the peer answered that it is not serving.
	NotServing
)

// Classify says what a call's error tells about the peer.
func Classify(err error) Result {
	if err == nil {
		return Answered
	}
	if errors.Is(err, context.Canceled) {
		return Silent
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	st, ok := status.FromError(err)
	if !ok {
		return Silent
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return Timeout
	case codes.Canceled:
		return Silent
	case codes.Unavailable:
		if strings.Contains(st.Message(), "connection refused") {
			return Refused
		}
		return Timeout
	}
	return Answered
}

// Check sends one health check over cc, bounded by timeout, and returns
// what it says, with the error when there was one. A connection in
// TRANSIENT_FAILURE is told to reconnect now (gRPC's reconnect backoff
// grows to minutes), so a peer that is back is seen at the next check.
// With patient, a connection that is not ready gets the whole timeout to
// become ready (gRPC's wait-for-ready) instead of failing at once; a
// refusal is then seen as a timeout. When ctx ends first the result is
// Silent.
func Check(ctx context.Context, cc *grpc.ClientConn, timeout time.Duration, patient bool) (Result, error) {
	if cc.GetState() == connectivity.TransientFailure {
		cc.ResetConnectBackoff()
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(patient))
	switch {
	case ctx.Err() != nil:
		return Silent, ctx.Err()
	case err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING:
		return NotServing, nil
	}
	return Classify(err), err
}
