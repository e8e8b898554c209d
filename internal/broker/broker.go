package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Broker is one NATS server with JetStream. Not safe for concurrent use.
type Broker struct {
	dir  string
	port int
	s    *server.Server
}

// Start starts a broker storing in dir on a free loopback port.
func Start(dir string) (*Broker, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	b := &Broker{dir: dir, port: port}
	return b, b.Restart()
}

// URL is the broker's client URL.
func (b *Broker) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(b.port) }

// Running reports whether the server is up.
func (b *Broker) Running() bool { return b.s != nil }

// Restart starts the server (again) on the same port and store; a no-op
// when it runs.
func (b *Broker) Restart() error {
	if b.s != nil {
		return nil
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: b.port, JetStream: true, StoreDir: b.dir, NoLog: true, NoSigs: true})
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("broker: not ready on port %d within 15 s", b.port)
	}
	b.s = s
	return nil
}

// Stop shuts the server down and waits for it.
func (b *Broker) Stop() {
	if b.s != nil {
		b.s.Shutdown()
		b.s.WaitForShutdown()
		b.s = nil
	}
}

// Message is one stored message as a checker sees it.
type Message struct {
	Seq     uint64
	MsgID   string // the Nats-Msg-Id header
	Subject string
	Data    []byte
}

// ReadStream returns every message in stream, in stream order (none if
// the stream does not exist yet).
func ReadStream(ctx context.Context, url, stream string) ([]Message, error) {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		if err == jetstream.ErrStreamNotFound {
			return nil, nil
		}
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return nil, err
	}
	var out []Message
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			if err == jetstream.ErrMsgNotFound {
				continue
			}
			return nil, err
		}
		out = append(out, Message{Seq: m.Sequence, MsgID: m.Header.Get(jetstream.MsgIDHeader), Subject: m.Subject, Data: m.Data})
	}
	return out, nil
}
