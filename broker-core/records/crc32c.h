#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of
// RecordBatch v2 (RECORDS.md §2.2) and of our own small metadata files.
//
// crc32c() picks the SSE4.2 `crc32` instruction when the CPU has it (checked
// once at start-up with __builtin_cpu_supports), processing three independent
// 8-byte streams in parallel to hide the instruction's 3-cycle latency, and a
// portable slice-by-8 table implementation otherwise. Both give identical
// results. All functions are pure and thread-safe.

#include <cstdint>
#include <span>

namespace geomirror::records {

// CRC-32C of `data` (initial value and final xor as in iSCSI/Kafka).
uint32_t crc32c(std::span<const uint8_t> data) noexcept;

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b), and
// crc32c_extend(0, a) == crc32c(a).
uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data) noexcept;

// The two implementations, exposed for tests and benchmarks.
uint32_t crc32c_software(uint32_t crc, std::span<const uint8_t> data) noexcept;
// REQUIRES: crc32c_hardware_available().
uint32_t crc32c_hardware(uint32_t crc, std::span<const uint8_t> data) noexcept;
bool crc32c_hardware_available() noexcept;

}  // namespace geomirror::records
