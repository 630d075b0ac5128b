// Redis Cluster's hash slots: which of the 16,384 slots a key lives in, as CLUSTER KEYSLOT
// computes it (CRC16/XMODEM of the key, or of its hash tag, modulo 16,384). Keys that must be
// written in one MULTI/EXEC share a hash tag, so that they share a slot.
#pragma once

#include <cstdint>
#include <string_view>

namespace pgcqrs::sidecar::redis {

inline constexpr uint16_t kSlotCount = 16384;

// CRC16 with polynomial 0x1021, initial value 0, no reflection (the XMODEM variant, the one
// Redis Cluster uses).
uint16_t crc16(std::string_view bytes);

// The part of key that is hashed: the text between the first '{' and the first '}' after it
// when that text is not empty, else the whole key ("{user:7}:orders" hashes "user:7";
// "{}x" and "x{" hash themselves).
std::string_view hash_tag(std::string_view key);

inline uint16_t key_slot(std::string_view key) { return crc16(hash_tag(key)) & (kSlotCount - 1); }

}  // namespace pgcqrs::sidecar::redis
