// Results that sharded commands send between ranks (examples/app/job.hpp), as bytes: numbers bit for bit (a
// double travels as its 8 bytes, so that rank 0 summarises exactly what the other ranks computed), strings with
// their length. Both sides are this program, on machines of one byte order.
#pragma once

#include <confsgm/error.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace app {

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
    for (const double x : v) f64(x);
  }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  void raw(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

class wire_reader {
 public:
  explicit wire_reader(const std::string& bytes) : bytes_(bytes) {}
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
    need(n * sizeof(double));
    std::vector<double> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = f64();
    return v;
  }

 private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_) throw confsgm::error("a rank's message ends early (" + std::to_string(bytes_.size()) + " bytes)");
  }
  void raw(void* p, std::size_t n) {
    need(n);
    std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
  }
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

}  // namespace app
