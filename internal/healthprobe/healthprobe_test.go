package healthprobe

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Result
	}{
		{nil, Answered},
		{status.Error(codes.PermissionDenied, "not for you"), Answered}, // only a server says that
		{status.Error(codes.Unimplemented, "no health service"), Answered},
		{status.Error(codes.DeadlineExceeded, "deadline"), Timeout},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), Timeout},
		{status.Error(codes.Unavailable, "connection error: dial tcp 127.0.0.1:1: connect: connection refused"), Refused},
		{status.Error(codes.Unavailable, "error reading from server: connection reset by peer"), Timeout},
		{status.Error(codes.Canceled, "context canceled"), Silent},
		{context.Canceled, Silent},
		{errors.New("not a status"), Silent},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
