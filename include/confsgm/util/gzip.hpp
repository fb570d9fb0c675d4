// confsgm/util/gzip.hpp: whole-file gzip read/write through zlib, so that the
// shipped data sets (*.sdf.gz) load with the same readers as plain files.
// Needs zlib (linked by confsgm::rdkit).
#pragma once

#include "confsgm/error.hpp"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace confsgm {

inline bool has_gz_suffix(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

/// The decompressed content of @p path (a plain file is returned as it is,
/// as zlib does). Truncated or corrupt archives throw io_error.
inline std::string read_gzip_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw io_error(path, std::nullopt, std::nullopt, "cannot open the file for reading");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw io_error(path, std::nullopt, std::nullopt, "corrupt gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  const int rc = gzclose(f);
  if (rc == Z_BUF_ERROR)
    throw io_error(path, std::nullopt, std::nullopt, "the gzip file is truncated (ends in the middle of a stream)");
  if (rc != Z_OK) throw io_error(path, std::nullopt, std::nullopt, "corrupt gzip data");
  return out;
}

/// Writes @p content gzip-compressed to @p path atomically (temporary file, then rename).
inline void write_gzip_file(const std::string& path, const std::string& content, int level = 9) {
  const std::string tmp = path + ".partial";
  gzFile f = gzopen(tmp.c_str(), ("wb" + std::to_string(level)).c_str());
  if (!f) throw io_error(tmp, std::nullopt, std::nullopt, "cannot open the file for writing");
  std::size_t done = 0;
  while (done < content.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(content.size() - done, 1u << 30));
    const int n = gzwrite(f, content.data() + done, chunk);
    if (n <= 0) {
      gzclose(f);
      std::remove(tmp.c_str());
      throw io_error(tmp, std::nullopt, std::nullopt, "gzip write failed (disk full?)");
    }
    done += static_cast<std::size_t>(n);
  }
  if (gzclose(f) != Z_OK) {
    std::remove(tmp.c_str());
    throw io_error(tmp, std::nullopt, std::nullopt, "could not finish the gzip file");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error(path, std::nullopt, std::nullopt, "could not replace the file: " + ec.message());
}

}  // namespace confsgm
