package envelope

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A sealed value (format version 1) is, in order:
//
//	magic          4 bytes  "AENV"
//	version        1 byte   1
//	masterKeyID    8 bytes  keyed hash of the master key (see Sealer.KeyID)
//	keyNonce      12 bytes  nonce of the data key's encryption
//	wrappedKey    48 bytes  the 32-byte data key encrypted and tagged under the master key
//	nonce         12 bytes  nonce of the value's encryption
//	ciphertext   n+16 bytes the value encrypted and tagged under the data key
//	checksum       4 bytes  CRC-32C (Castagnoli), big-endian, of everything before it
//
// Both encryptions authenticate the header (magic, version, masterKeyID) followed by the caller's
// associated data. The checksum protects nothing against an attacker (the GCM tags do); it only lets
// Open tell accidental damage anywhere, including in masterKeyID, from a wrong master key. Every
// future version keeps the magic, the version byte after it and the trailing checksum.
const (
	formatVersion   = 1
	magicSize       = 4
	versionSize     = 1
	keyIDSize       = 8
	nonceSize       = 12
	dataKeySize     = 32
	tagSize         = 16
	wrappedKeySize  = dataKeySize + tagSize
	checksumSize    = 4
	headerSize      = magicSize + versionSize + keyIDSize
	keyNonceOffset  = headerSize
	wrappedOffset   = keyNonceOffset + nonceSize
	nonceOffset     = wrappedOffset + wrappedKeySize
	cipherOffset    = nonceOffset + nonceSize
	minSealedLength = cipherOffset + tagSize + checksumSize
)

// magic starts every sealed value.
var magic = [magicSize]byte{'A', 'E', 'N', 'V'}

// LooksSealed reports whether b starts as a sealed value does (its magic): what tells a sealed value
// from plain text written in its place. Open still checks everything else.
func LooksSealed(b []byte) bool { return bytes.HasPrefix(b, magic[:]) }

// castagnoli is the CRC-32C table of the checksum.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealedValue is a parsed sealed value; its slices alias the bytes it was parsed from.
type sealedValue struct {
	header     []byte // magic, version and masterKeyID: authenticated with the associated data
	keyID      []byte
	keyNonce   []byte
	wrappedKey []byte
	nonce      []byte
	ciphertext []byte
}

// newHeader returns the header of a version 1 sealed value under the master key with id keyID.
func newHeader(keyID []byte) []byte {
	header := make([]byte, 0, headerSize)
	header = append(header, magic[:]...)
	header = append(header, formatVersion)
	return append(header, keyID...)
}

// marshal lays the value out and appends the checksum.
func (v sealedValue) marshal() []byte {
	out := make([]byte, 0, cipherOffset+len(v.ciphertext)+checksumSize)
	out = append(out, v.header...)
	out = append(out, v.keyNonce...)
	out = append(out, v.wrappedKey...)
	out = append(out, v.nonce...)
	out = append(out, v.ciphertext...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// parseSealedValue checks the framing of sealed (magic, checksum, version) and splits it into its
// fields. Errors wrap ErrCorrupt or ErrUnsupportedVersion.
func parseSealedValue(sealed []byte) (sealedValue, error) {
	if len(sealed) < magicSize+versionSize+checksumSize || !bytes.Equal(sealed[:magicSize], magic[:]) {
		return sealedValue{}, fmt.Errorf("%w: not a sealed value (no %q header)", ErrCorrupt, magic[:])
	}
	body, checksum := sealed[:len(sealed)-checksumSize], sealed[len(sealed)-checksumSize:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(checksum) {
		return sealedValue{}, fmt.Errorf("%w: checksum mismatch (the value was damaged or truncated)", ErrCorrupt)
	}
	if version := sealed[magicSize]; version != formatVersion {
		return sealedValue{}, fmt.Errorf("%w: format version %d (this build reads version %d)", ErrUnsupportedVersion, version, formatVersion)
	}
	if len(sealed) < minSealedLength {
		return sealedValue{}, fmt.Errorf("%w: %d bytes is shorter than the smallest sealed value (%d bytes)", ErrCorrupt, len(sealed), minSealedLength)
	}
	return sealedValue{
		header:     body[:headerSize],
		keyID:      body[magicSize+versionSize : headerSize],
		keyNonce:   body[keyNonceOffset:wrappedOffset],
		wrappedKey: body[wrappedOffset:nonceOffset],
		nonce:      body[nonceOffset:cipherOffset],
		ciphertext: body[cipherOffset:],
	}, nil
}
