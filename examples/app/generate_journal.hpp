// The journal of a `confsgm generate` run. Generation is written in input order, and after each molecule the
// output so far is flushed and one journal line records where it ends; a killed run rerun with --resume keeps
// those molecules and samples the rest. Noise is keyed by the molecule's index (never by the thread or the run),
// so the resumed output is byte for byte the uninterrupted run's.
#pragma once

#include <confsgm/error.hpp>
#include <confsgm/train/checkpoint.hpp>
#include <confsgm/util/parse.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"

namespace app {

/// What one molecule added to a generate run's totals.
struct molecule_tally {
  std::size_t written = 0;     ///< conformers written
  std::size_t failed = 0;      ///< 1 when the molecule produced nothing
  std::size_t diverged = 0;    ///< conformers that diverged or had non-finite coordinates (not written)
  std::size_t reflected = 0;   ///< mirror images reflected to the input's stereo
  std::size_t stereo_bad = 0;  ///< conformers written with a stereo mismatch
  std::size_t changed = 0;     ///< conformers whose bonds or stereo changed in refinement (--relax)
  molecule_tally& operator+=(const molecule_tally& o) {
    written += o.written, failed += o.failed, diverged += o.diverged, reflected += o.reflected,
        stereo_bad += o.stereo_bad, changed += o.changed;
    return *this;
  }
};

/// The settings that decide a run's output, as (name, value) pairs: a resume under other settings is refused,
/// naming the first that differs.
using run_settings = std::vector<std::pair<std::string, std::string>>;

/// A file's content as a short fingerprint (64-bit FNV-1a in hex): a resume must read the same input and model
/// bytes, whatever path names them.
inline std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw confsgm::io_error(path, std::nullopt, std::nullopt, "cannot open the file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::ostringstream hex;
  hex << "fnv1a:" << std::hex << std::setw(16) << std::setfill('0') << confsgm::train::detail::fnv1a(bytes.str());
  return hex.str();
}

/// A number as written in the journal: every digit, so that two settings compare equal only when they are.
inline std::string exact(double v) {
  std::ostringstream s;
  s << std::setprecision(17) << v;
  return s.str();
}

class generate_journal {
 public:
  struct entry {
    std::string id;           ///< the molecule's id (tabs and line breaks as spaces)
    std::uintmax_t end = 0;   ///< the partial output's size once the molecule was written
    molecule_tally tally;
  };

  /// The journal at @p path for a run of @p settings over molecules @p molecule_ids (input order). With
  /// @p resume and an existing journal, its finished molecules are kept (their settings and ids must match this
  /// run's); otherwise the journal starts empty. Either way the file is rewritten atomically before the run goes
  /// on, so a torn last line of a killed run never survives.
  generate_journal(std::string path, run_settings settings, bool resume, const std::vector<std::string>& molecule_ids)
      : path_(std::move(path)), settings_(std::move(settings)) {
    for (auto& [name, value] : settings_) value = one_line(value);
    if (std::filesystem::exists(path_)) {
      if (resume) read(molecule_ids);
      else discarded_ = true;
    }
    write_all();
  }

  /// The molecules an earlier run finished, in input order (the first finished().size() molecules).
  const std::vector<entry>& finished() const noexcept { return finished_; }
  /// Whether an earlier run's journal was read (--resume found one).
  bool resumed() const noexcept { return resumed_; }
  /// Whether a run without --resume found an earlier run's journal (and started afresh over it).
  bool discarded_earlier_run() const noexcept { return discarded_; }
  const std::string& path() const noexcept { return path_; }

  /// Records the next molecule as finished; call after its conformers are flushed (@p end: the partial output's
  /// size).
  void record(const std::string& id, std::uintmax_t end, const molecule_tally& t) {
    out_ << line_of({one_line(id), end, t}) << std::flush;
    if (!out_) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "write failed (disk full?)");
  }

  /// The run is complete: the journal goes (a later --resume then starts a new run).
  void remove() {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    if (ec) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "cannot remove the finished run's journal: " + ec.message());
  }

 private:
  static constexpr const char* magic = "confsgm generate journal 1";

 public:
  // Shared with the part journals of sharded runs (generate_parts.hpp).
  static std::string one_line(std::string s) {
    for (char& c : s)
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return s;
  }
  static std::string line_of(const entry& e) {
    std::ostringstream s;
    s << "molecule\t" << e.id << '\t' << e.end << '\t' << e.tally.written << '\t' << e.tally.failed << '\t'
      << e.tally.diverged << '\t' << e.tally.reflected << '\t' << e.tally.stereo_bad << '\t' << e.tally.changed << '\n';
    return s.str();
  }
  static std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      f.push_back(line.substr(start, tab - start));
    f.push_back(line.substr(start));
    return f;
  }
  template <class Unsigned>
  static bool whole_number(const std::string& text, Unsigned& value) {
    const auto parsed = confsgm::parse_whole_number<Unsigned>(text);
    if (parsed) value = *parsed;
    return parsed.has_value();
  }
  [[noreturn]] static void corrupt(const std::string& path, std::size_t line, const std::string& what) {
    throw confsgm::io_error(path, line, std::nullopt,
                            what + "; delete it (and the output's .partial file) to start over, or run without --resume");
  }

 private:

  void read(const std::vector<std::string>& molecule_ids) {
    std::ifstream in(path_);
    if (!in) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "cannot read the journal");
    std::ostringstream text_stream;
    text_stream << in.rdbuf();
    finished_ = parse(text_stream.str(), path_, settings_, molecule_ids);
    resumed_ = true;
  }

 public:
  /// Refuses (usage_error) a resume whose @p settings differ from the journaled @p found ones (of file @p path),
  /// naming the first setting that differs.
  static void check_settings(const run_settings& found, const run_settings& settings, const std::string& path) {
    for (const auto& [name, value] : settings) {
      std::string earlier = "(not recorded)";
      for (const auto& [fname, fvalue] : found)
        if (fname == name) earlier = fvalue;
      if (earlier == value) continue;
      // Files are compared by content: say which file, not only which fingerprint.
      const std::string difference =
          name == "input"    ? "the input file's content differs from the journaled run's (fingerprint " + earlier +
                                   ", now " + value + ")"
          : name == "models" ? "the model files differ from the journaled run's (" + earlier + ", now " + value + ")"
                             : "it was written by a run with " + name + " = " + earlier + ", this run has " + value;
      throw usage_error("--resume: " + path + ": " + difference +
                        " (a resumed run must use the same input, models, sampling settings and build; delete the "
                        "journal, or run without --resume, to start over)");
    }
  }

  /// The finished molecules of the journal text @p text (of file @p path) for a run of @p settings over
  /// @p molecule_ids; io_error for a corrupt journal, usage_error when its settings differ from @p settings.
  static std::vector<entry> parse(const std::string& text, const std::string& path, const run_settings& settings,
                                  const std::vector<std::string>& molecule_ids) {
    std::vector<entry> finished;
    // A line without its line break was being written when the run was killed: the molecule is not finished.
    std::vector<std::string> lines;
    for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(text.substr(start, nl - start));
    if (lines.empty() || lines[0] != magic) corrupt(path, 1, "not a confsgm generate journal");
    std::size_t n = 1;
    run_settings found;
    for (; n < lines.size() && lines[n].rfind("setting\t", 0) == 0; ++n) {
      const auto f = fields(lines[n]);
      if (f.size() != 3) corrupt(path, n + 1, "malformed setting line");
      found.emplace_back(f[1], f[2]);
    }
    check_settings(found, settings, path);
    std::uintmax_t previous_end = 0;
    for (; n < lines.size(); ++n) {
      const auto f = fields(lines[n]);
      // 8 fields: a journal written before --relax existed (no refinement counts).
      if ((f.size() != 8 && f.size() != 9) || f[0] != "molecule") corrupt(path, n + 1, "malformed molecule line");
      const std::size_t k = finished.size();
      if (k >= molecule_ids.size())
        corrupt(path, n + 1, "lists more molecules than the input has (" + std::to_string(molecule_ids.size()) + ")");
      if (f[1] != one_line(molecule_ids[k]))
        corrupt(path, n + 1, "molecule " + std::to_string(k + 1) + " is '" + f[1] + "' here but '" + molecule_ids[k] +
                           "' in the input");
      entry e;
      e.id = f[1];
      std::uintmax_t end = 0;
      std::size_t counts[6] = {};
      bool numbers = whole_number(f[2], end);
      for (std::size_t i = 0; i + 3 < f.size(); ++i) numbers = numbers && whole_number(f[3 + i], counts[i]);
      if (!numbers) corrupt(path, n + 1, "an offset or count is not a whole number");
      e.end = end;
      e.tally = {counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]};
      if (e.end < previous_end) corrupt(path, n + 1, "the output offsets go backwards");
      if (e.tally.written == 0 && e.end != previous_end) corrupt(path, n + 1, "a molecule without conformers has output");
      previous_end = e.end;
      finished.push_back(std::move(e));
    }
    return finished;
  }

 private:
  void write_all() {
    const std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << magic << '\n';
      for (const auto& [name, value] : settings_) out << "setting\t" << name << '\t' << value << '\n';
      for (const auto& e : finished_) out << line_of(e);
      out.flush();
      if (!out) throw confsgm::io_error(tmp, std::nullopt, std::nullopt, "cannot write the journal");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path_, ec);
    if (ec) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "cannot replace the journal: " + ec.message());
    out_.open(path_, std::ios::app);
    if (!out_) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "cannot open the journal for writing");
  }

  std::string path_;
  run_settings settings_;
  std::vector<entry> finished_;
  bool resumed_ = false, discarded_ = false;
  std::ofstream out_;
};

}  // namespace app
