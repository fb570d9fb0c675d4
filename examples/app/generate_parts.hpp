// The state of a sharded `confsgm generate` run (under mpirun; docs/scale.md). Rank r of n writes the molecules
// dealt to it into OUTPUT.parts/rank-r-of-n.sdf.partial and, after each one, a line of
// OUTPUT.parts/rank-r-of-n.journal with the molecule's input index and the bytes it took. A run started with
// --resume first reads every part of every earlier run (with any number of ranks) and a single-process run's
// OUTPUT.journal: those molecules are finished, the others are dealt anew. At the end rank 0 copies each
// molecule's bytes, in input order, into OUTPUT: the file a single process would have written.
#pragma once

#include <confsgm/error.hpp>
#include <confsgm/util/atomic_file.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "generate_journal.hpp"

namespace app {

/// A molecule finished by a process of the run: its SD records are bytes [start, end) of @c file.
struct finished_molecule {
  std::size_t index = 0;  ///< in the input
  std::string file;
  std::uintmax_t start = 0, end = 0;
  molecule_tally tally;
};

class part_journal {
 public:
  static std::string folder_of(const std::string& output) { return output + ".parts"; }
  /// The file name stem of rank @p rank's part in a run of @p size ranks.
  static std::string stem_of(int rank, int size) {
    return "rank-" + std::to_string(rank) + "-of-" + std::to_string(size);
  }

  /// The molecules listed by the part journal text @p text (file @p path; their records in @p sdf_file), for a
  /// run of @p settings over @p molecule_ids; io_error for a corrupt journal, usage_error for other settings.
  static std::vector<finished_molecule> parse(const std::string& text, const std::string& path,
                                              const std::string& sdf_file, const run_settings& settings,
                                              const std::vector<std::string>& molecule_ids) {
    using J = generate_journal;
    std::vector<std::string> lines;  // a last line without its line break was cut by a kill: not finished
    for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(text.substr(start, nl - start));
    if (lines.empty() || lines[0] != magic) J::corrupt(path, 1, "not a confsgm generate part journal");
    std::size_t n = 1;
    run_settings found;
    for (; n < lines.size() && lines[n].rfind("setting\t", 0) == 0; ++n) {
      const auto f = J::fields(lines[n]);
      if (f.size() != 3) J::corrupt(path, n + 1, "malformed setting line");
      found.emplace_back(f[1], f[2]);
    }
    J::check_settings(found, settings, path);
    std::vector<finished_molecule> finished;
    std::uintmax_t previous_end = 0;
    for (; n < lines.size(); ++n) {
      const auto f = J::fields(lines[n]);
      if (f.size() != 11 || f[0] != "molecule") J::corrupt(path, n + 1, "malformed molecule line");
      finished_molecule m;
      m.file = sdf_file;
      std::size_t counts[6] = {};
      bool numbers = J::whole_number(f[1], m.index) && J::whole_number(f[3], m.start) && J::whole_number(f[4], m.end);
      for (std::size_t i = 0; i < 6; ++i) numbers = numbers && J::whole_number(f[5 + i], counts[i]);
      if (!numbers) J::corrupt(path, n + 1, "an index, offset or count is not a whole number");
      if (m.index >= molecule_ids.size())
        J::corrupt(path, n + 1, "molecule index " + f[1] + " is beyond the input's " + std::to_string(molecule_ids.size()));
      if (f[2] != J::one_line(molecule_ids[m.index]))
        J::corrupt(path, n + 1, "molecule " + std::to_string(m.index + 1) + " is '" + f[2] + "' here but '" +
                                    molecule_ids[m.index] + "' in the input");
      if (m.start != previous_end || m.end < m.start)
        J::corrupt(path, n + 1, "the molecule's bytes do not follow the previous molecule's");
      m.tally = {counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]};
      if (m.tally.written == 0 && m.end != m.start) J::corrupt(path, n + 1, "a molecule without conformers has output");
      previous_end = m.end;
      finished.push_back(std::move(m));
    }
    return finished;
  }

  /// The journal at @p path of a run of @p settings, holding @p kept (this rank's molecules from an earlier run
  /// with as many ranks, in the order written): rewritten atomically, so that a torn last line never survives.
  part_journal(std::string path, const run_settings& settings, const std::vector<finished_molecule>& kept,
               const std::vector<std::string>& molecule_ids)
      : path_(std::move(path)) {
    std::ostringstream text;
    text << magic << '\n';
    for (const auto& [name, value] : settings) text << "setting\t" << name << '\t' << generate_journal::one_line(value) << '\n';
    for (const auto& m : kept) text << line_of(m.index, molecule_ids[m.index], m.start, m.end, m.tally);
    confsgm::util::write_file_atomically(path_, text.str());
    out_.open(path_, std::ios::app);
    if (!out_) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "cannot open the journal for writing");
  }

  /// Records molecule @p index as finished, its records at bytes [start, end) of the part (already flushed).
  void record(std::size_t index, const std::string& id, std::uintmax_t start, std::uintmax_t end, const molecule_tally& t) {
    out_ << line_of(index, id, start, end, t) << std::flush;
    if (!out_) throw confsgm::io_error(path_, std::nullopt, std::nullopt, "write failed (disk full?)");
  }

 private:
  static constexpr const char* magic = "confsgm generate part 1";
  static std::string line_of(std::size_t index, const std::string& id, std::uintmax_t start, std::uintmax_t end,
                             const molecule_tally& t) {
    std::ostringstream s;
    s << "molecule\t" << index << '\t' << generate_journal::one_line(id) << '\t' << start << '\t' << end << '\t'
      << t.written << '\t' << t.failed << '\t' << t.diverged << '\t' << t.reflected << '\t' << t.stereo_bad << '\t'
      << t.changed << '\n';
    return s.str();
  }

  std::string path_;
  std::ofstream out_;
};

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw confsgm::io_error(path, std::nullopt, std::nullopt, "cannot read the file");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every molecule that processes of the run writing @p output finished: the parts in OUTPUT.parts (runs with any
/// number of ranks, in name order) and a single-process run's OUTPUT.journal (records in OUTPUT.partial). Sorted
/// by input index; a molecule listed twice (journals copied by hand) is refused.
inline std::vector<finished_molecule> scan_finished(const std::string& output, const run_settings& settings,
                                                    const std::vector<std::string>& molecule_ids) {
  namespace fs = std::filesystem;
  std::vector<finished_molecule> all;
  const std::string single = output + ".journal";
  if (fs::exists(single)) {
    std::uintmax_t start = 0;
    for (const auto& e : generate_journal::parse(read_whole_file(single), single, settings, molecule_ids)) {
      all.push_back({all.size(), output + ".partial", start, e.end, e.tally});
      start = e.end;
    }
  }
  const fs::path folder = part_journal::folder_of(output);
  std::vector<std::string> journals;
  std::error_code ec;
  if (fs::is_directory(folder, ec))
    for (const auto& entry : fs::directory_iterator(folder)) {
      static const std::regex part_name("rank-[0-9]+-of-[0-9]+\\.journal");
      if (std::regex_match(entry.path().filename().string(), part_name)) journals.push_back(entry.path().string());
    }
  std::sort(journals.begin(), journals.end());
  for (const auto& j : journals) {
    const std::string sdf = j.substr(0, j.size() - std::string(".journal").size()) + ".sdf.partial";
    for (auto& m : part_journal::parse(read_whole_file(j), j, sdf, settings, molecule_ids)) all.push_back(std::move(m));
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (std::size_t i = 1; i < all.size(); ++i)
    if (all[i].index == all[i - 1].index)
      throw confsgm::io_error(all[i].file, std::nullopt, std::nullopt,
                              "molecule " + std::to_string(all[i].index + 1) + " ('" + molecule_ids[all[i].index] +
                                  "') is also in " + all[i - 1].file + ": the state in " + folder.string() +
                                  " mixes two runs; delete it to start over");
  return all;
}

/// Writes @p output from @p finished (every molecule of the input, in input order): each molecule's bytes copied
/// from its file, through a temporary file in the parts folder and a rename.
inline void merge_parts(const std::string& output, const std::vector<finished_molecule>& finished) {
  const std::string tmp = part_journal::folder_of(output) + "/merged.sdf.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw confsgm::io_error(tmp, std::nullopt, std::nullopt, "cannot open the file for writing");
    std::ifstream in;
    std::string open_file;
    std::vector<char> buffer(1 << 20);
    for (const auto& m : finished) {
      if (m.end == m.start) continue;
      if (m.file != open_file) {
        in.close();
        in.clear();
        in.open(m.file, std::ios::binary);
        if (!in) throw confsgm::io_error(m.file, std::nullopt, std::nullopt, "cannot read a part of the run");
        open_file = m.file;
      }
      in.seekg(static_cast<std::streamoff>(m.start));
      for (std::uintmax_t left = m.end - m.start; left > 0;) {
        const auto chunk = static_cast<std::streamsize>(std::min<std::uintmax_t>(left, buffer.size()));
        if (!in.read(buffer.data(), chunk))
          throw confsgm::io_error(m.file, std::nullopt, std::nullopt,
                                  "ends before byte " + std::to_string(m.end) + ", which its journal lists");
        out.write(buffer.data(), chunk);
        left -= static_cast<std::uintmax_t>(chunk);
      }
    }
    out.flush();
    if (!out) throw confsgm::io_error(tmp, std::nullopt, std::nullopt, "write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, output, ec);
  if (ec) throw confsgm::io_error(output, std::nullopt, std::nullopt, "could not replace the file: " + ec.message());
}

}  // namespace app
