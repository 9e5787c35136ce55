// Package envelope encrypts values at rest with envelope encryption: a master key (the key-encryption
// key, 32 bytes) wraps a fresh random 256-bit data key for every sealed value, and the data key
// encrypts the value. Both steps use AES-256-GCM with random 96-bit nonces. Associated data names the
// place a value belongs to (such as "namespace/secret/key"), so a sealed value moved to another place
// does not open.
//
// A sealed value is self-describing and versioned (see the layout in format.go). It carries an id of
// the master key it was sealed under (a keyed hash of the master key, not the key), so that Open tells
// a wrong master key (ErrWrongMasterKey) from damaged or tampered data (ErrCorrupt).
package envelope
