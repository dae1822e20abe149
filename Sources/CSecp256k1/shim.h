// Debian's libsecp256k1-dev: BIP-340 Schnorr signatures and x-only keys, for Nostr events.
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
