// confsgm/train/checkpoint.hpp: the model/checkpoint file.
//
// Layout (little-endian):
//   "CONFSGM\x01" magic (8 bytes) | u32 format version | u32 header bytes |
//   header: "key=value\n" lines (model kind, sizes, schedule, perturbation,
//   training state) | u32 scalar bytes (4 or 8) | u64 n | n parameters |
//   u32 optimiser flag | [n Adam first moments | n second moments] |
//   u64 FNV-1a checksum of every byte before it.
// Files are written to "<path>.partial", flushed, then renamed, so a crash
// never leaves a half-written checkpoint under the real name. Every read
// problem names the file and says what is wrong (not a model, newer version,
// truncated, checksum mismatch, wrong scalar type).
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/util/atomic_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace confsgm::train {

inline constexpr char checkpoint_magic[8] = {'C', 'O', 'N', 'F', 'S', 'G', 'M', '\x01'};
inline constexpr std::uint32_t checkpoint_version = 1;

/// Entry @p key of a model file's header; io_error naming @p file when it is missing.
inline const std::string& header_entry(const std::map<std::string, std::string>& header, const std::string& key,
                                       const std::string& file = "") {
  auto it = header.find(key);
  if (it == header.end()) throw io_error(file, std::nullopt, std::nullopt, "the model file has no '" + key + "' entry");
  return it->second;
}

/// Entry @p key as a number; io_error naming @p file when it is missing or not a number.
inline double header_number(const std::map<std::string, std::string>& header, const std::string& key,
                            const std::string& file = "") {
  const auto& v = header_entry(header, key, file);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(v, &used);
  } catch (const std::exception&) {
  }
  if (used == 0 || used != v.size())  // "12abc" is not 12
    throw io_error(file, std::nullopt, std::nullopt, "entry '" + key + "' is not a number ('" + v + "')");
  return value;
}

template <class Scalar>
struct checkpoint {
  std::map<std::string, std::string> header;
  std::vector<Scalar> parameters;
  std::vector<Scalar> adam_m, adam_v;  ///< empty in weights-only model files

  const std::string& at(const std::string& key, const std::string& file = "") const {
    return header_entry(header, key, file);
  }
  double number(const std::string& key, const std::string& file = "") const { return header_number(header, key, file); }
};

namespace detail {
inline std::uint64_t fnv1a(const std::string& bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <class T>
void put_vector(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
class reader {
 public:
  reader(const std::string& bytes, const std::string& file) : b_(bytes), file_(file) {}
  template <class T>
  T get(const char* what) {
    T v;
    need(sizeof(T), what);
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string text(std::size_t n, const char* what) {
    need(n, what);
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <class T>
  std::vector<T> vec(std::size_t n, const char* what) {
    // n comes from the file: compare counts, never n * sizeof(T), which a hostile n overflows.
    if (n > (b_.size() - pos_) / sizeof(T)) truncated(what);
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), b_.data() + pos_, n * sizeof(T));  // an empty vector's data() may be null
    pos_ += n * sizeof(T);
    return v;
  }
  std::size_t pos() const noexcept { return pos_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > b_.size() - pos_) truncated(what);
  }
  [[noreturn]] void truncated(const char* what) const {
    throw io_error(file_, std::nullopt, std::nullopt,
                   std::string("truncated model file: it ends inside the ") + what + " (" + std::to_string(b_.size()) +
                       " bytes)");
  }
  const std::string& b_;
  std::string file_;
  std::size_t pos_ = 0;
};
}  // namespace detail

/// Writes @p c to @p path atomically.
template <class Scalar>
void save_checkpoint(const std::string& path, const checkpoint<Scalar>& c) {
  std::string header;
  for (const auto& [k, v] : c.header) {
    if (k.find_first_of("=\n") != std::string::npos || v.find('\n') != std::string::npos)
      throw invalid_argument("save_checkpoint(): header entry '" + k + "' contains '=' or a newline");
    header += k + "=" + v + "\n";
  }
  const bool with_adam = !c.adam_m.empty();
  if (with_adam && (c.adam_m.size() != c.parameters.size() || c.adam_v.size() != c.parameters.size()))
    throw shape_mismatch("save_checkpoint(): optimiser state does not match the parameter count");
  std::string out(checkpoint_magic, 8);
  detail::put(out, checkpoint_version);
  detail::put(out, static_cast<std::uint32_t>(header.size()));
  out += header;
  detail::put(out, static_cast<std::uint32_t>(sizeof(Scalar)));
  detail::put(out, static_cast<std::uint64_t>(c.parameters.size()));
  detail::put_vector(out, c.parameters);
  detail::put(out, static_cast<std::uint32_t>(with_adam));
  if (with_adam) {
    detail::put_vector(out, c.adam_m);
    detail::put_vector(out, c.adam_v);
  }
  detail::put(out, detail::fnv1a(out));
  util::write_file_atomically(path, out);  // PATH.partial, then a rename: never half a model under PATH
}

/// Parses the bytes of a model/checkpoint file (@p name is the file named in errors): what load_checkpoint()
/// does after reading the file, for callers that hold the bytes (a database, a network buffer, a fuzzer).
template <class Scalar>
checkpoint<Scalar> parse_checkpoint(const std::string& bytes, const std::string& name) {
  const std::string& path = name;
  if (bytes.size() < 8 || std::memcmp(bytes.data(), checkpoint_magic, 8) != 0)
    throw io_error(path, std::nullopt, std::nullopt, "not a confsgm model file (wrong magic bytes)");
  if (bytes.size() < 16 + 8)
    throw io_error(path, std::nullopt, std::nullopt, "truncated model file (" + std::to_string(bytes.size()) + " bytes)");
  std::uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  detail::reader r(bytes, path);
  r.text(8, "magic");
  const auto version = r.get<std::uint32_t>("version");
  if (version > checkpoint_version)
    throw io_error(path, std::nullopt, std::nullopt,
                   "model file format version " + std::to_string(version) + " is newer than this confsgm reads (" +
                       std::to_string(checkpoint_version) + ")");
  if (detail::fnv1a(bytes.substr(0, bytes.size() - 8)) != stored)
    throw io_error(path, std::nullopt, std::nullopt,
                   "checksum mismatch: the model file is corrupt or truncated");
  checkpoint<Scalar> c;
  const auto hlen = r.get<std::uint32_t>("header length");
  std::istringstream header(r.text(hlen, "header"));
  for (std::string line; std::getline(header, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw io_error(path, std::nullopt, std::nullopt, "malformed header line '" + line + "'");
    c.header[line.substr(0, eq)] = line.substr(eq + 1);
  }
  const auto scalar_bytes = r.get<std::uint32_t>("scalar size");
  if (scalar_bytes != sizeof(Scalar))
    throw io_error(path, std::nullopt, std::nullopt,
                   "the model stores " + std::to_string(8 * scalar_bytes) + "-bit parameters, " +
                       std::to_string(8 * sizeof(Scalar)) + "-bit were asked for");
  const auto n = r.get<std::uint64_t>("parameter count");
  c.parameters = r.vec<Scalar>(n, "parameters");
  if (r.get<std::uint32_t>("optimiser flag")) {
    c.adam_m = r.vec<Scalar>(n, "optimiser state");
    c.adam_v = r.vec<Scalar>(n, "optimiser state");
  }
  if (r.pos() + 8 != bytes.size())
    throw io_error(path, std::nullopt, std::nullopt, "unexpected bytes after the parameters");
  return c;
}

/// Reads a checkpoint written by save_checkpoint with the same Scalar.
template <class Scalar>
checkpoint<Scalar> load_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw io_error(path, std::nullopt, std::nullopt, "cannot open the model file");
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  if (f.bad()) throw io_error(path, std::nullopt, std::nullopt, "cannot read the model file");
  return parse_checkpoint<Scalar>(bytes, path);
}

}  // namespace confsgm::train
