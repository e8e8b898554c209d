// Package txid makes and reads transaction IDs that carry their creation
// time, so a coordinator can tell how old an ID is and refuse one older
// than its uniqueness window instead of deciding it a second time.
//
// An ID is a UUIDv7 (RFC 9562) written as 32 lowercase hex digits without
// dashes: 48 bits of Unix milliseconds, the version nibble 7, 12 random
// bits, the variant bits 10 and 62 random bits (74 random bits from
// crypto/rand in all: unguessable, and IDs sort by creation time).
package txid

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Len is the length of an ID in characters.
const Len = 32

// New returns a fresh ID created at now.
func New(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return hex.EncodeToString(b[:])
}

// Time returns the creation time of an ID made by New; ok is false for any
// other string (another length, upper case, not hex, another version or
// variant).
func Time(id string) (t time.Time, ok bool) {
	if len(id) != Len {
		return time.Time{}, false
	}
	for i := 0; i < Len; i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return time.Time{}, false
		}
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil || b[6]>>4 != 7 || b[8]>>6 != 2 {
		return time.Time{}, false
	}
	var ms int64
	for i := range 6 {
		ms = ms<<8 | int64(b[i])
	}
	return time.UnixMilli(ms), true
}
