package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// intentVersion is the first byte of an encoded intent.
const intentVersion = 1

// intent is a prepared transaction's durable record: when to ask for the
// decision, and the writes to apply on commit.
type intent struct {
	deadline time.Time
	writes   map[string][]byte
}

var errCorruptIntent = errors.New("embedded: corrupt intent record")

// encode lays an intent out as: version byte, deadline (unix nanos, 8 bytes
// big endian), write count (uvarint), then per write in key order: key
// length (uvarint), key, value length (uvarint), value.
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
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeIntent parses an encoded intent; the result does not alias b.
func decodeIntent(b []byte) (intent, error) {
	if len(b) < 9 || b[0] != intentVersion {
		return intent{}, fmt.Errorf("%w: bad header", errCorruptIntent)
	}
	in := intent{deadline: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))}
	rest := b[9:]
	n, sz := binary.Uvarint(rest)
	if sz <= 0 || n > uint64(len(rest)) {
		return intent{}, fmt.Errorf("%w: bad write count", errCorruptIntent)
	}
	rest = rest[sz:]
	in.writes = make(map[string][]byte, n)
	for i := uint64(0); i < n; i++ {
		var k, v []byte
		var err error
		if k, rest, err = readBytes(rest); err != nil {
			return intent{}, err
		}
		if v, rest, err = readBytes(rest); err != nil {
			return intent{}, err
		}
		in.writes[string(k)] = v
	}
	if len(rest) != 0 {
		return intent{}, fmt.Errorf("%w: trailing bytes", errCorruptIntent)
	}
	return in, nil
}

func readBytes(b []byte) (v, rest []byte, err error) {
	n, sz := binary.Uvarint(b)
	if sz <= 0 || n > uint64(len(b)-sz) {
		return nil, nil, fmt.Errorf("%w: bad length", errCorruptIntent)
	}
	end := sz + int(n)
	return append([]byte{}, b[sz:end]...), b[end:], nil
}
