// Shipped models: `--model NAME` resolves a file path, or a model shipped in
// the source tree's models/ folder (CONFSGM_MODEL_DIR overrides the folder),
// e.g. `--model drugs-torsion-ip` -> models/drugs-torsion-ip.bin.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli.hpp"

#ifndef CONFSGM_DEFAULT_MODEL_DIR
#define CONFSGM_DEFAULT_MODEL_DIR "models"
#endif

namespace app {

inline std::string model_dir() {
  const char* env = std::getenv("CONFSGM_MODEL_DIR");
  return env && *env ? env : CONFSGM_DEFAULT_MODEL_DIR;
}

/// The file for --model @p given (default: the shipped model @p default_name).
inline std::string resolve_model(const std::string& given, const std::string& default_name) {
  const std::string name = given.empty() ? default_name : given;
  if (std::filesystem::is_regular_file(name)) return name;
  const auto shipped = std::filesystem::path(model_dir()) / (name + ".bin");
  if (std::filesystem::is_regular_file(shipped)) return shipped.string();
  std::string listing;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(model_dir(), ec))
    if (e.path().extension() == ".bin") listing += (listing.empty() ? "" : ", ") + e.path().stem().string();
  throw usage_error("--model '" + name + "' is neither a file nor a shipped model (" + shipped.string() +
                    " does not exist; shipped: " + (listing.empty() ? "none yet" : listing) +
                    "); train one with `confsgm train` and pass --model FILE");
}

}  // namespace app
