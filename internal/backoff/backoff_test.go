package backoff

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSleep(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(live)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want bool
	}{
		{"sleeps the whole time", live, time.Millisecond, true},
		{"zero does not wait", live, 0, true},
		{"negative does not wait", live, -time.Second, true},
		{"ended context, zero", ended, 0, false},
		{"ended context, long", ended, time.Hour, false},
	} {
		if got := Sleep(tc.ctx, tc.d); got != tc.want {
			t.Errorf("%s: Sleep(%v) = %v, want %v", tc.name, tc.d, got, tc.want)
		}
	}
}

func TestSleepReturnsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep(1h) = true with a context that ends after 10ms")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Sleep returned %v after its context ended", took)
	}
}

// Each wait lies between half the interval and all of it; the interval
// doubles up to the cap.
func TestBackoffStepsDoubleWithJitterUpToMax(t *testing.T) {
	b := New(10*time.Millisecond, 50*time.Millisecond)
	for i, interval := range []time.Duration{10, 20, 40, 50, 50} {
		interval *= time.Millisecond
		if d := b.step(); d < interval/2 || d > interval {
			t.Errorf("wait %d: %v, want within [%v, %v]", i, d, interval/2, interval)
		}
	}
}

func TestBackoffWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := New(time.Hour, time.Hour)
	if b.Wait(ctx) {
		t.Fatal("Wait = true with an ended context")
	}
	if !New(time.Millisecond, time.Millisecond).Wait(context.Background()) {
		t.Fatal("Wait = false with a live context")
	}
}
