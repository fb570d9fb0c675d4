// confsgm/util/output_lock.hpp: guards for a program's output files, checked before any work is done.
//
// check_output_path() refuses an output that is one of the inputs (writing it would destroy the input) or whose
// folder does not exist. output_lock holds an exclusive lock on OUTPUT for its lifetime, so that two processes
// writing the same output are refused instead of interleaving their writes. Creating the lock file is also the
// probe that the folder is writable: a read-only folder is reported before the first molecule, not after the
// last. POSIX only (flock).
#pragma once

#include "confsgm/error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace confsgm::util {

/// Throws io_error naming @p output when it names the same file as one of @p inputs (empty entries are skipped),
/// or when the folder it goes into does not exist.
inline void check_output_path(const std::string& output, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  if (output.empty()) return;
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(output, ec), ec);
  const fs::path folder = fs::path(output).parent_path().empty() ? fs::path(".") : fs::path(output).parent_path();
  if (!fs::is_directory(folder, ec))
    throw io_error(output, std::nullopt, std::nullopt, "the output folder " + folder.string() + " does not exist");
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    const bool same = fs::exists(output, ec) && fs::exists(input, ec) ? fs::equivalent(output, input, ec)
                                                                       : fs::weakly_canonical(fs::absolute(input, ec), ec) == out;
    if (same)
      throw io_error(output, std::nullopt, std::nullopt,
                     "the output is the input " + input + ": writing it would destroy the input; choose another output");
  }
}

/// An exclusive advisory lock on @p output, held until destruction, through the file OUTPUT.lock (flock). The
/// kernel releases it when the process ends, however it ends (SIGKILL included), so a killed run leaves no stale
/// lock; its lock file is removed when the lock is released normally.
class output_lock {
 public:
  explicit output_lock(std::string output) : lock_path_(std::move(output) + ".lock") {
    // Open, lock, then check that the path still names the locked file: a process releasing its lock removes the
    // file, and one that opened it just before must not run on an unlinked lock beside a third on a new one.
    for (int attempt = 0; attempt < 100; ++attempt) {
      fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0)
        throw io_error(lock_path_, std::nullopt, std::nullopt,
                       std::string("cannot write in the output folder: ") + std::strerror(errno));
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = read_holder();
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
          throw io_error(lock_path_, std::nullopt, std::nullopt,
                         "another process" + (holder.empty() ? std::string() : " (pid " + holder + ")") +
                             " is writing this output; wait for it to end, or write elsewhere");
        throw io_error(lock_path_, std::nullopt, std::nullopt, std::string("cannot lock: ") + std::strerror(err));
      }
      struct stat held {}, named {};
      if (::fstat(fd_, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
          held.st_dev == named.st_dev) {
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd_, 0) != 0 || ::write(fd_, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
          throw io_error(lock_path_, std::nullopt, std::nullopt,
                         std::string("cannot write the lock file: ") + std::strerror(errno));
        return;
      }
      ::close(fd_);  // removed by its previous holder meanwhile: take the new one
      fd_ = -1;
    }
    throw io_error(lock_path_, std::nullopt, std::nullopt, "the lock file keeps being replaced by other processes");
  }
  output_lock(const output_lock&) = delete;
  output_lock& operator=(const output_lock&) = delete;
  ~output_lock() {
    if (fd_ < 0) return;
    ::unlink(lock_path_.c_str());  // before closing: nobody can lock this inode after we let it go
    ::close(fd_);
  }
  const std::string& path() const noexcept { return lock_path_; }

 private:
  std::string read_holder() const {
    char buf[32] = {};
    const auto n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s.find_first_not_of("0123456789") == std::string::npos ? s : std::string();
  }

  std::string lock_path_;
  int fd_ = -1;
};

/// The guards of a command that writes @p outputs from @p inputs, checked before it does any work: every input
/// exists, every output's folder exists and no output is an input or another output; then each output is locked
/// (empty entries skipped), in the order given.
class output_guard {
 public:
  output_guard(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
    for (const auto& in : inputs) {
      std::error_code ec;
      if (!in.empty() && !std::filesystem::exists(in, ec)) throw io_error(in, std::nullopt, std::nullopt, "no such file");
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      check_output_path(outputs[i], inputs);
      const std::vector<std::string> earlier(outputs.begin(), outputs.begin() + static_cast<std::ptrdiff_t>(i));
      try {
        check_output_path(outputs[i], earlier);
      } catch (const io_error&) {
        throw io_error(outputs[i], std::nullopt, std::nullopt, "the same file is given for two outputs");
      }
    }
    for (const auto& out : outputs)
      if (!out.empty()) locks_.emplace_back(std::make_unique<output_lock>(out));
  }

 private:
  std::vector<std::unique_ptr<output_lock>> locks_;
};

}  // namespace confsgm::util
