package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message is one message a branch publishes.
type Message struct {
	Subject string `json:"subject"`
	Data    []byte `json:"data"`
}

// ErrInvalid marks a branch payload the outbox refuses (its vote is no):
// it could never be published as sent.
var ErrInvalid = errors.New("outbox: invalid branch")

// EncodePayload is the branch payload that publishes msgs.
func EncodePayload(msgs ...Message) []byte {
	b, _ := json.Marshal(payload{Messages: msgs}) // a struct of strings and bytes always marshals
	return b
}

type payload struct {
	Messages []Message `json:"messages"`
}

// decodePayload parses and checks a branch payload against the limits and
// the subjects the stream captures, so that a yes vote is a promise: every
// message stored can be published.
func decodePayload(b []byte, cfg Config) ([]Message, error) {
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: payload is not {\"messages\":[{\"subject\":...,\"data\":...}]}: %v", ErrInvalid, err)
	}
	if len(p.Messages) > cfg.MaxMessages {
		return nil, fmt.Errorf("%w: %d messages, at most %d a branch", ErrInvalid, len(p.Messages), cfg.MaxMessages)
	}
	for i, m := range p.Messages {
		if err := validSubject(m.Subject); err != nil {
			return nil, fmt.Errorf("%w: message %d: %v", ErrInvalid, i, err)
		}
		if !captured(cfg.Subjects, m.Subject) {
			return nil, fmt.Errorf("%w: message %d: subject %q is not captured by stream %s (subjects %v)", ErrInvalid, i, m.Subject, cfg.Stream, cfg.Subjects)
		}
		if len(m.Data) > cfg.MaxMessageBytes {
			return nil, fmt.Errorf("%w: message %d: %d bytes of data, at most %d", ErrInvalid, i, len(m.Data), cfg.MaxMessageBytes)
		}
	}
	return p.Messages, nil
}

// validSubject checks a subject to publish to: dot-separated non-empty
// tokens, no wildcards, no whitespace, at most 256 bytes.
func validSubject(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("subject %q: must be 1 to 256 bytes", s)
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return fmt.Errorf("subject %q: tokens must be non-empty, without whitespace or wildcards", s)
		}
	}
	return nil
}

// captured reports whether subject matches one of the patterns ('*' one
// token, '>' the rest).
func captured(patterns []string, subject string) bool {
	for _, p := range patterns {
		if subjectMatch(strings.Split(p, "."), strings.Split(subject, ".")) {
			return true
		}
	}
	return false
}

func subjectMatch(pat, sub []string) bool {
	for i, p := range pat {
		switch {
		case p == ">":
			return len(sub) > i
		case i >= len(sub):
			return false
		case p != "*" && p != sub[i]:
			return false
		}
	}
	return len(pat) == len(sub)
}
