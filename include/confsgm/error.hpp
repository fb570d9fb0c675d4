// confsgm/error.hpp: the exception hierarchy. Every error names the function
// (or the input file and line) and the problem, so a user can act on it
// without a debugger. Library code never prints; it throws or reports.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace confsgm {

/// Base of all confsgm errors.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller passed a value outside the documented domain.
class invalid_argument : public error {
 public:
  using error::error;
};

/// Two inputs that must agree in size or layout do not.
class shape_mismatch : public error {
 public:
  using error::error;
};

/// A feature was asked for that this build or this molecule cannot provide.
class not_supported : public error {
 public:
  using error::error;
};

/// Chemistry the library refuses: unknown elements, several fragments,
/// graphs that do not match, and the like.
class chemistry_error : public error {
 public:
  using error::error;
};

/// A problem in an input or output file. Carries the file and, where known,
/// the 1-based line and record so the message can point at the culprit.
class io_error : public error {
 public:
  io_error(std::string file, std::optional<std::size_t> line, std::optional<std::size_t> record,
           const std::string& what_happened)
      : error(compose(file, line, record, what_happened)),
        file_(std::move(file)),
        line_(line),
        record_(record),
        reason_(what_happened) {}

  const std::string& file() const noexcept { return file_; }
  std::optional<std::size_t> line() const noexcept { return line_; }
  /// 1-based record number within a multi-record file (SDF).
  std::optional<std::size_t> record() const noexcept { return record_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  static std::string compose(const std::string& file, std::optional<std::size_t> line,
                             std::optional<std::size_t> record, const std::string& what) {
    std::string s = file.empty() ? std::string("<input>") : file;
    if (line) s.append(":").append(std::to_string(*line));
    if (record) s.append(" (record ").append(std::to_string(*record)).append(")");
    return s.append(": ").append(what);
  }
  std::string file_;
  std::optional<std::size_t> line_;
  std::optional<std::size_t> record_;
  std::string reason_;
};

}  // namespace confsgm
