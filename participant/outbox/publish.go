package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/backoff"
)

// Run publishes pending messages until ctx ends: it connects (retrying),
// makes sure the stream exists, then publishes whatever is pending after
// each commit and every Poll, backing off while the broker fails.
func (o *Outbox) Run(ctx context.Context) error {
	nc, err := nats.Connect(o.cfg.NATSURL, nats.Name("arbiter-outbox-"+o.cfg.ID), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		return fmt.Errorf("outbox: connect %s: %w", o.cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("outbox: jetstream: %w", err)
	}
	pause := o.backoff()
	for ctx.Err() == nil {
		err := o.ensureStream(ctx, js)
		if err == nil {
			break
		}
		o.failures.Add(1)
		o.log.Warn("stream not ready; retrying", zap.String("stream", o.cfg.Stream), zap.Error(err))
		pause.Wait(ctx)
	}
	for ctx.Err() == nil {
		if err := o.publishPending(ctx, js); err != nil {
			o.failures.Add(1)
			o.log.Warn("publish failed; retrying", zap.Error(err))
			pause.Wait(ctx)
			continue
		}
		pause = o.backoff()
		select {
		case <-ctx.Done():
		case <-o.wake:
		case <-time.After(o.cfg.Poll):
		}
	}
	return nil
}

func (o *Outbox) backoff() *backoff.Backoff { return backoff.New(o.cfg.RetryMin, o.cfg.RetryMax) }

func (o *Outbox) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.PublishTimeout)
	defer cancel()
	if _, err := js.Stream(ctx, o.cfg.Stream); err == nil {
		return nil
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: o.cfg.Stream, Subjects: o.cfg.Subjects,
		Duplicates: o.cfg.DuplicateWindow, Storage: jetstream.FileStorage})
	return err
}

// pending lists the committed messages' keys, oldest transaction ID first.
func (o *Outbox) pending() ([]string, map[string][]byte) {
	all, err := o.st.ReadAll()
	if err != nil {
		return nil, nil
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		if strings.HasPrefix(k, "m/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, all
}

// publishPending publishes every pending message and deletes the ones
// JetStream acknowledged (new or duplicate), in one write per round. A
// crash between a publish and the deletion republishes the message with
// the same ID, which the stream's duplicate window drops.
func (o *Outbox) publishPending(ctx context.Context, js jetstream.JetStream) error {
	keys, vals := o.pending()
	var done []string
	var err error
	for _, k := range keys {
		if err = o.publishOne(ctx, js, k, vals[k]); err != nil {
			break
		}
		done = append(done, k)
	}
	if len(done) > 0 {
		if derr := o.st.Delete(ctx, done...); derr != nil && err == nil {
			err = derr
		}
	}
	return err
}

func (o *Outbox) publishOne(ctx context.Context, js jetstream.JetStream, key string, v []byte) error {
	var m Message
	if err := json.Unmarshal(v, &m); err != nil {
		return fmt.Errorf("outbox: stored message %s is corrupt: %w", key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.PublishTimeout)
	defer cancel()
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Data
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(o.msgID(key)), jetstream.WithExpectStream(o.cfg.Stream))
	if err != nil {
		return fmt.Errorf("outbox: publish %s to %s: %w", o.msgID(key), m.Subject, err)
	}
	if ack.Duplicate {
		o.duplicates.Add(1)
	} else {
		o.published.Add(1)
	}
	return nil
}
