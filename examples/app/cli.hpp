// Shared pieces of the reference application: argument parsing, exit codes,
// progress reporting (the application prints; the library never does), and a
// small JSON writer.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <confsgm/sample/compensation.hpp>
#include <confsgm/util/atomic_file.hpp>
#include <confsgm/util/output_lock.hpp>

namespace app {

/// Exit codes (documented in --help and docs/cli.md).
enum exit_code : int {
  ok = 0,             ///< everything processed
  partial = 1,        ///< finished, but some input records or molecules were rejected (listed on stderr)
  usage = 2,          ///< bad command line
  input_failure = 3,  ///< no usable input (missing file, nothing parsable)
  internal = 4,       ///< unexpected failure
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// --epsilon-k K --epsilon-b B (Epsilon Scaling, confsgm/sample/compensation.hpp): lambda = K t + B divides the
/// score; K >= 0 and B > 0 keep lambda > 0 at every level.
inline void check_epsilon_scaling(const confsgm::sample::epsilon_scaling& s) {
  if (!std::isfinite(s.k))  // either sign: a fitted line may fall (bias --calibrate-epsilon); lambda > 0 is checked per level
    throw usage_error("--epsilon-k must be a finite number, got " + std::to_string(s.k));
  if (!std::isfinite(s.b) || !(s.b > 0))
    throw usage_error("--epsilon-b must be a finite number > 0, got " + std::to_string(s.b));
}

/// --key value / --flag parser with typed getters and unknown-option detection.
class arguments {
 public:
  arguments(int argc, char** argv, int first, const std::vector<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) throw usage_error("unexpected argument '" + a + "'");
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(2, eq - 2)] = a.substr(eq + 1);
        continue;
      }
      const std::string key = a.substr(2);
      bool is_flag = false;
      for (const auto& f : flags) is_flag |= (f == key);
      if (is_flag) {
        values_[key].assign(1, '1');
      } else {
        if (i + 1 >= argc) throw usage_error("option --" + key + " needs a value");
        values_[key] = argv[++i];
      }
    }
  }
  bool has(const std::string& k) const { return values_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& dflt = "") {
    used_[k] = true;
    auto it = values_.find(k);
    return it == values_.end() ? dflt : it->second;
  }
  std::string required(const std::string& k) {
    if (!has(k)) throw usage_error("missing required option --" + k);
    return str(k);
  }
  double number(const std::string& k, double dflt) { return parsed<double>(k, dflt, "a number"); }
  long integer(const std::string& k, long dflt) { return parsed<long>(k, dflt, "an integer"); }
  /// A count, size or thread number: a whole number from 0 to T's largest value. Casting a negative integer
  /// instead would wrap it around to a huge count (--epochs -1 training for ever).
  template <class T = std::size_t>
  T count(const std::string& k, long dflt) {
    const long v = integer(k, dflt);
    if (v < 0 || static_cast<unsigned long>(v) > std::numeric_limits<T>::max())
      throw usage_error("--" + k + " must be a whole number from 0 to " +
                        std::to_string(std::numeric_limits<T>::max()) + ", got " + std::to_string(v));
    return static_cast<T>(v);
  }
  bool flag(const std::string& k) {
    used_[k] = true;
    return has(k);
  }
  /// Throws on options that no getter asked for (typos must not be ignored).
  void reject_unknown() const {
    for (const auto& [k, v] : values_)
      if (!used_.count(k)) throw usage_error("unknown option --" + k);
  }

 private:
  /// The whole value must parse as T ("12abc" is an error, not 12).
  template <class T>
  T parsed(const std::string& k, T dflt, const char* what) {
    const auto s = str(k);
    if (s.empty()) return dflt;
    try {
      std::size_t pos = 0;
      T v;
      if constexpr (std::is_floating_point_v<T>) v = std::stod(s, &pos);
      else v = std::stol(s, &pos);
      if (pos == s.size()) return v;
    } catch (const std::exception&) {
    }
    throw usage_error("option --" + k + " expects " + what + ", got '" + s + "'");
  }

  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
};

/// The sampling-time compensations of `generate` and `bias` (confsgm/sample/compensation.hpp), each part as the
/// command line gives it:
///   --epsilon-k K --epsilon-b B                   Epsilon Scaling, lambda = K t + B
///   --corrector-steps M --corrector-step-size R   M Langevin corrector steps per level, alpha = R sigma^2
///   --sigma-shift-window W --sigma-shift-cutoff S  network level within W levels, at sigma >= S (W = 0: none)
///   --sampling-defaults model|none                parts not given: the model file's recommendation
///                                                 (confsgm/generate/recommended_sampling.hpp) or none
/// @p defaults is the command's --sampling-defaults when the option is absent. The messages name the options
/// (the library's own checks, which run later, name its types).
inline confsgm::sample::compensation_request read_compensation(arguments& args, const std::string& defaults) {
  confsgm::sample::compensation_request r;
  const auto from = args.str("sampling-defaults", defaults);
  if (from != "model" && from != "none")
    throw usage_error("--sampling-defaults must be 'model' (what the model file recommends, for the parts not given) "
                      "or 'none', got '" + from + "'");
  if (args.has("epsilon-k") || args.has("epsilon-b")) {
    r.scaling = confsgm::sample::epsilon_scaling{args.number("epsilon-k", 0.0), args.number("epsilon-b", 1.0)};
    check_epsilon_scaling(*r.scaling);
  }
  if (args.has("corrector-steps") || args.has("corrector-step-size")) {
    confsgm::sample::langevin_corrector c;
    c.steps = args.count("corrector-steps", 0);
    c.step_size = args.number("corrector-step-size", c.step_size);
    if (!std::isfinite(c.step_size) || !(c.step_size > 0))
      throw usage_error("--corrector-step-size must be a finite number > 0, got " + std::to_string(c.step_size));
    if (args.has("corrector-step-size") && !c.active())
      throw usage_error("--corrector-step-size needs --corrector-steps >= 1");
    r.corrector = c;
  }
  if (args.has("sigma-shift-window") || args.has("sigma-shift-cutoff")) {
    confsgm::sample::sigma_shift h;
    h.window = args.count("sigma-shift-window", 0);
    h.cutoff = args.number("sigma-shift-cutoff", 0.0);
    if (!std::isfinite(h.cutoff) || !(h.cutoff >= 0))
      throw usage_error("--sigma-shift-cutoff must be a finite sigma >= 0, got " + std::to_string(h.cutoff));
    if (args.has("sigma-shift-cutoff") && !h.active())
      throw usage_error("--sigma-shift-cutoff needs --sigma-shift-window >= 1");
    r.shift = h;
  }
  if (from == "none") r = confsgm::sample::compensation_request::exactly(r.resolve());
  return r;
}

/// The options that set @p c, for messages: "--epsilon-b/--epsilon-k", "--corrector-steps", ...
inline std::string compensation_options_named(const confsgm::sample::sampling_compensation& c) {
  std::string s;
  const auto add = [&](const char* o) { s += (s.empty() ? "" : ", ") + std::string(o); };
  if (c.scaling.active()) add("--epsilon-b/--epsilon-k");
  if (c.corrector.active()) add("--corrector-steps");
  if (c.shift.active()) add("--sigma-shift-window");
  if (c.guidance.active()) add("--particle-guidance");
  return s;
}

/// Progress on stderr: "[evaluate] 4/10 molecules  12.3 s elapsed, ETA 18.0 s".
/// @p done_before items were done by an earlier run (a resumed one): the ETA counts only this run's pace.
class progress {
 public:
  progress(std::string tag, std::size_t total, bool enabled, std::size_t done_before = 0)
      : tag_(std::move(tag)), total_(total), done_before_(done_before), enabled_(enabled), start_(clock::now()) {}
  void step(std::size_t done, const std::string& what) {
    if (!enabled_) return;
    const double el = elapsed();
    const std::size_t done_here = done > done_before_ ? done - done_before_ : 0;
    const double eta = done_here ? el / static_cast<double>(done_here) * static_cast<double>(total_ - done) : 0.0;
    std::cerr << "[" << tag_ << "] " << done << "/" << total_ << " " << what << "  " << std::fixed
              << std::setprecision(1) << el << " s elapsed, ETA " << eta << " s\n";
  }
  double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  std::string tag_;
  std::size_t total_, done_before_;
  bool enabled_;
  clock::time_point start_;
};

/// Minimal JSON emitter; non-finite numbers become null (strict JSON).
class json {
 public:
  static std::string quote(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\t': o += "\\t"; break;
        case '\r': o += "\\r"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
          } else {
            o += c;
          }
      }
    }
    return o + "\"";
  }
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s << std::setprecision(12) << v;
    return s.str();
  }
};

}  // namespace app
