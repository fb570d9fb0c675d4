// confsgm/util/wire.hpp: results that ranks of one job send each other (train/data_parallel.hpp, the bias
// estimator's sharing, the application's sharded commands), as bytes. Numbers travel bit for bit (a double as its
// 8 bytes), so that every rank sums or reports exactly what another computed; strings and arrays carry their
// length. Both sides are the same program on machines of one byte order: this is not a file format.
#pragma once

#include "confsgm/error.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace confsgm::util {

class wire_writer {
 public:
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  void f64s(const std::vector<double>& v) {
    u64(v.size());
    values(v.data(), v.size());
  }
  /// @p n values of a trivially copyable type, without their count (the reader must know it).
  template <class T>
  void values(const T* p, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "wire_writer::values: T must be trivially copyable");
    raw(p, n * sizeof(T));
  }
  /// Empties the message and keeps its capacity (a writer reused every step allocates once).
  void clear() noexcept { bytes_.clear(); }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  void raw(const void* p, std::size_t n) {
    if (n) bytes_.append(static_cast<const char*>(p), n);  // p may be null for an empty array
  }
  std::string bytes_;
};

class wire_reader {
 public:
  /// @p who names the reader in errors ("estimate_exposure_bias()"); @p bytes must outlive the reader.
  wire_reader(const std::string& bytes, std::string who) : bytes_(bytes), who_(std::move(who)) {}
  bool done() const noexcept { return pos_ == bytes_.size(); }
  std::uint64_t u64() {
    std::uint64_t v;
    raw(&v, sizeof v);
    return v;
  }
  double f64() {
    double v;
    raw(&v, sizeof v);
    return v;
  }
  std::string str() {
    const auto n = u64();
    need(n);
    std::string s = bytes_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::vector<double> f64s() {
    const auto n = u64();
    if (n > (bytes_.size() - pos_) / sizeof(double)) need(bytes_.size() + 1);  // (n * 8 could wrap around)
    std::vector<double> v(static_cast<std::size_t>(n));
    values(v.data(), v.size());
    return v;
  }
  template <class T>
  void values(T* p, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "wire_reader::values: T must be trivially copyable");
    raw(p, n * sizeof(T));
  }

 private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_)
      throw error(who_ + ": a rank's message ends early (" + std::to_string(bytes_.size()) + " bytes)");
  }
  void raw(void* p, std::size_t n) {
    need(n);
    if (n) std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
  }
  const std::string& bytes_;
  std::string who_;
  std::size_t pos_ = 0;
};

}  // namespace confsgm::util
