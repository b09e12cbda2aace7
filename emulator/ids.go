package emulator

import (
	"encoding/hex"
	"hash/fnv"
)

// Line ids are 16 lower-case hex digits: an invertible 64-bit mix of (app key + arrival
// position). They look random (they do not sort in arrival order) yet a Last-Event-ID maps
// back to its position without any table.

const (
	mixMul1 = 0xbf58476d1ce4e5b9
	mixMul2 = 0x94d049bb133111eb
)

var (
	mixInv1 = modInverse(mixMul1)
	mixInv2 = modInverse(mixMul2)
)

// mix64 is the splitmix64 finalizer, a bijection on uint64.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= mixMul1
	z ^= z >> 27
	z *= mixMul2
	z ^= z >> 31
	return z
}

// unmix64 inverts mix64.
func unmix64(z uint64) uint64 {
	z = unxorshift(z, 31)
	z *= mixInv2
	z = unxorshift(z, 27)
	z *= mixInv1
	z = unxorshift(z, 30)
	return z
}

func unxorshift(x uint64, s uint) uint64 {
	r := x
	for i := uint(0); i < 64; i += s {
		r = x ^ (r >> s)
	}
	return r
}

// modInverse returns the inverse of the odd m modulo 2^64 (Newton iteration).
func modInverse(m uint64) uint64 {
	inv := m
	for range 6 {
		inv *= 2 - m*inv
	}
	return inv
}

const hexDigits = "0123456789abcdef"

// appendLineID appends the id of the line at pos of the app with key.
func appendLineID(dst []byte, key uint64, pos int64) []byte {
	x := mix64(key + uint64(pos))
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexDigits[x&0xf]
		x >>= 4
	}
	return append(dst, b[:]...)
}

// linePos decodes an id made by appendLineID; ok is false when id is not one of key's
// (its decoded position is out of [0, limit)).
func linePos(id string, key uint64, limit int64) (pos int64, ok bool) {
	if len(id) != 16 {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, false
	}
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	p := unmix64(x) - key
	if p >= uint64(limit) {
		return 0, false
	}
	return int64(p), true
}

// uuidFrom formats 128 bits as a version-4 UUID (the form clever-tools' id regexes accept).
func uuidFrom(hi, lo uint64) string {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// hashKey derives a 64-bit key from the seed and a name.
func hashKey(seed int64, name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return mix64(h.Sum64() ^ uint64(seed)*0x9e3779b97f4a7c15)
}
