// confsgm/util/atomic_file.hpp: whole-file writes that are never seen half-done.
#pragma once

#include "confsgm/error.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace confsgm::util {

/// Writes @p content to @p path through PATH.partial and a rename: a reader (or a resumed run) sees the old file
/// or the new one, never a prefix; a failed write (disk full, read-only folder) names the file, removes the
/// temporary file and leaves the old file as it was.
inline void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error(tmp, std::nullopt, std::nullopt, "cannot open the file for writing");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw io_error(tmp, std::nullopt, std::nullopt, "write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw io_error(path, std::nullopt, std::nullopt, "could not replace the file: " + ec.message());
  }
}

}  // namespace confsgm::util
