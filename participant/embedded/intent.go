package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// intentVersion is the first byte of an encoded intent. Version 1 intents
// (no read keys) still decode.
const intentVersion = 2

// intent is a prepared transaction's durable record: when to ask for the
// decision, the writes to apply on commit, and the keys it only read (which
// stay locked, like the written ones, until Commit or Abort).
type intent struct {
	deadline time.Time
	writes   map[string][]byte
	reads    []string // keys read and not written
}

var errCorruptIntent = errors.New("embedded: corrupt intent record")

// encode lays an intent out as: version byte, deadline (unix nanos, 8 bytes
// big endian), write count (uvarint), then per write in key order: key
// length (uvarint), key, value length (uvarint), value; then read count
// (uvarint) and per read key in order: key length (uvarint), key. Version 1
// stops after the writes.
func (in intent) encode() []byte {
	keys := make([]string, 0, len(in.writes))
	for k := range in.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{intentVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(in.deadline.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, in.writes[k])
	}
	reads := append([]string{}, in.reads...)
	sort.Strings(reads)
	b = binary.AppendUvarint(b, uint64(len(reads)))
	for _, k := range reads {
		b = appendBytes(b, []byte(k))
	}
	return b
}

// lockedKeys returns every key the intent holds locked: written and read.
func (in intent) lockedKeys() []string {
	keys := make([]string, 0, len(in.writes)+len(in.reads))
	for k := range in.writes {
		keys = append(keys, k)
	}
	return append(keys, in.reads...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeIntent parses an encoded intent (version 1 or 2); the result does
// not alias b.
func decodeIntent(b []byte) (intent, error) {
	if len(b) < 9 || (b[0] != 1 && b[0] != intentVersion) {
		return intent{}, fmt.Errorf("%w: bad header", errCorruptIntent)
	}
	in := intent{deadline: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))}
	rest, err := in.decodeWrites(b[9:])
	if err != nil {
		return intent{}, err
	}
	if b[0] >= 2 {
		if rest, err = in.decodeReads(rest); err != nil {
			return intent{}, err
		}
	}
	if len(rest) != 0 {
		return intent{}, fmt.Errorf("%w: trailing bytes", errCorruptIntent)
	}
	return in, nil
}

func (in *intent) decodeWrites(b []byte) (rest []byte, err error) {
	n, rest, err := readCount(b)
	if err != nil {
		return nil, err
	}
	in.writes = make(map[string][]byte, n)
	for i := uint64(0); i < n; i++ {
		var k, v []byte
		if k, rest, err = readBytes(rest); err != nil {
			return nil, err
		}
		if v, rest, err = readBytes(rest); err != nil {
			return nil, err
		}
		in.writes[string(k)] = v
	}
	return rest, nil
}

func (in *intent) decodeReads(b []byte) (rest []byte, err error) {
	n, rest, err := readCount(b)
	if err != nil {
		return nil, err
	}
	in.reads = make([]string, 0, n)
	for i := uint64(0); i < n; i++ {
		var k []byte
		if k, rest, err = readBytes(rest); err != nil {
			return nil, err
		}
		in.reads = append(in.reads, string(k))
	}
	return rest, nil
}

// readCount reads an element count, bounded by the bytes left (every
// element takes at least one).
func readCount(b []byte) (n uint64, rest []byte, err error) {
	n, sz := binary.Uvarint(b)
	if sz <= 0 || n > uint64(len(b)-sz) {
		return 0, nil, fmt.Errorf("%w: bad count", errCorruptIntent)
	}
	return n, b[sz:], nil
}

func readBytes(b []byte) (v, rest []byte, err error) {
	n, sz := binary.Uvarint(b)
	if sz <= 0 || n > uint64(len(b)-sz) {
		return nil, nil, fmt.Errorf("%w: bad length", errCorruptIntent)
	}
	end := sz + int(n)
	return append([]byte{}, b[sz:end]...), b[end:], nil
}
