// confsgm/rdkit/sdf.hpp: multi-conformer SDF in and out.
//
// Reading: the file is split into records here (so every message can name the
// file, the line and the record), each record's MOL block is parsed by RDKit
// with hydrogens kept, and SD properties are kept verbatim. Records are grouped
// into molecules by an SD property (default `mol_id`; the title when absent).
// Within a molecule every record must have the atoms of the first one, in the
// same order. A record that cannot be used is reported and the rest are still
// read:
//   - errors: unparsable records, unknown elements, several fragments,
//     non-finite or 2D coordinates, atom lists that differ from the molecule's;
//   - dropped: well-formed records whose bonds differ from the molecule's
//     first record (a reacted conformer, as in GEOM). They are left out by
//     policy, as Torsional Diffusion's standardisation does, and listed.
//
// Writing goes to a temporary file that replaces the target only on commit(),
// so an interrupted run never leaves a truncated SDF behind.
#pragma once

#include "confsgm/rdkit/smiles.hpp"
#include "confsgm/core/graph_match.hpp"
#include "confsgm/util/gzip.hpp"

#include <GraphMol/FileParsers/FileParsers.h>
#include <RDGeneral/FileParseException.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace confsgm::rdkit {

/// One molecule read from (or written to) an SDF file: the confsgm ensemble
/// plus the RDKit template (first record) used to write it back.
struct sdf_molecule {
  ensemble<double> data;
  std::shared_ptr<const RDKit::ROMol> mol;
};

/// The sdf_read_options::min_atom_distance training and bias-estimation data are read with (Angstrom).
inline constexpr double physical_min_atom_distance = 0.1;

/// "atoms 3 and 7 are 0.05 A apart (closer than 0.1 A)" (1-based atoms) when the closest two atoms of @p xyz are
/// closer than @p min_distance; "" otherwise.
inline std::string too_close(const coordinates<double>& xyz, double min_distance) {
  Eigen::Index a = 0, b = 0;
  double closest = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < xyz.rows(); ++i)
    for (Eigen::Index j = i + 1; j < xyz.rows(); ++j)
      if (const double d = (xyz.row(i) - xyz.row(j)).norm(); d < closest) closest = d, a = i, b = j;
  if (!(closest < min_distance)) return {};
  std::ostringstream why;
  why << "atoms " << a + 1 << " and " << b + 1 << " are " << closest << " A apart (closer than " << min_distance << " A)";
  return why.str();
}

struct sdf_read_options {
  std::string group_by = "mol_id";  ///< SD property naming the molecule; the title is used when absent
  bool allow_fragments = false;
  bool require_3d = true;  ///< reject records whose z coordinates are all zero
  /// Reject records with two atoms closer than this (Angstrom; 0 = no check). Training and bias data use 0.1:
  /// no physical conformer has atoms that close (the shortest bond, H-H, is 0.74), and coinciding atoms make
  /// distances zero and torsions undefined.
  double min_atom_distance = 0;
};

struct sdf_read_result {
  std::vector<sdf_molecule> molecules;  ///< in order of first appearance
  std::vector<io_error> errors;         ///< records that could not be used
  std::vector<io_error> dropped;        ///< well-formed records left out by policy
  std::size_t n_records = 0;
};

namespace detail {
struct sdf_record_text {
  std::string mol_block;
  std::string title;
  std::vector<std::pair<std::string, std::string>> properties;
  std::size_t first_line = 0;
  std::size_t index = 0;  ///< 1-based
};

/// Splits an SDF stream into records at "$$$$" lines.
inline std::vector<sdf_record_text> split_sdf(std::istream& in) {
  std::vector<sdf_record_text> records;
  std::string line;
  std::size_t line_no = 0;
  sdf_record_text cur;
  bool in_props = false, have_content = false;
  std::string prop_name, prop_value;
  bool in_value = false;
  auto finish_prop = [&] {
    if (in_value) {
      if (!prop_value.empty() && prop_value.back() == '\n') prop_value.pop_back();
      cur.properties.emplace_back(prop_name, prop_value);
    }
    in_value = false;
    prop_value.clear();
  };
  auto finish_record = [&] {
    finish_prop();
    if (have_content) {
      cur.index = records.size() + 1;
      records.push_back(std::move(cur));
    }
    cur = sdf_record_text{};
    in_props = have_content = false;
  };
  std::size_t lines_in_record = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("$$$$", 0) == 0) {
      finish_record();
      lines_in_record = 0;
      continue;
    }
    if (!have_content) {
      cur.first_line = line_no;
      have_content = true;
      cur.title = line;
    }
    ++lines_in_record;
    if (!in_props) {
      cur.mol_block += line;
      cur.mol_block += '\n';
      if (line.rfind("M  END", 0) == 0) in_props = true;
      continue;
    }
    if (!line.empty() && line[0] == '>') {
      finish_prop();
      const auto a = line.find('<'), b = line.find('>', a == std::string::npos ? 0 : a);
      prop_name = (a != std::string::npos && b != std::string::npos) ? line.substr(a + 1, b - a - 1) : "";
      in_value = true;
    } else if (line.empty()) {
      finish_prop();
    } else if (in_value) {
      prop_value += line;
      prop_value += '\n';
    }
  }
  // A last record without "$$$$" is still a record (common in hand-made files).
  if (have_content && cur.mol_block.find_first_not_of(" \t\n") != std::string::npos) finish_record();
  return records;
}

/// RDKit counts lines from the start of the MOL block ("... on line 5");
/// translate that into a line of the file, else point at the record start.
inline std::size_t absolute_line(const sdf_record_text& r, const std::string& message) {
  const auto pos = message.rfind("line");
  if (pos != std::string::npos) {
    std::size_t k = pos + 4, n = 0;
    while (k < message.size() && message[k] == ' ') ++k;
    bool digits = false;
    while (k < message.size() && std::isdigit(static_cast<unsigned char>(message[k]))) {
      n = n * 10 + static_cast<std::size_t>(message[k++] - '0');
      digits = true;
    }
    if (digits && n >= 1) return r.first_line + n - 1;
  }
  return r.first_line;
}

inline std::string describe_record(const sdf_record_text& r) {
  return r.title.empty() ? std::string() : "'" + r.title + "': ";
}
}  // namespace detail

/// Reads every record of the SDF text in @p in (plain, not compressed) by the rules of the file comment; @p path
/// names it in errors.
inline sdf_read_result read_sdf(std::istream& in, const std::string& path, const sdf_read_options& opts = {}) {
  const auto records = detail::split_sdf(in);
  if (in.bad()) throw io_error(path, std::nullopt, std::nullopt, "read failed");
  sdf_read_result out;
  out.n_records = records.size();
  std::map<std::string, std::size_t> index_of;
  for (const auto& rec : records) {
    const auto fail_at = [&](std::size_t line, const std::string& why) {
      out.errors.emplace_back(path, line, rec.index, detail::describe_record(rec) + why);
    };
    const auto fail = [&](const std::string& why) { fail_at(rec.first_line, why); };
    // RDKit's parser names a line of the MOL block; point at that line of the file.
    const auto fail_parse = [&](const std::string& why) { fail_at(detail::absolute_line(rec, why), why); };
    std::unique_ptr<RDKit::RWMol> mol;
    try {
      mol.reset(RDKit::MolBlockToMol(rec.mol_block, /*sanitize=*/true, /*removeHs=*/false,
                                     /*strictParsing=*/true));
    } catch (const RDKit::MolSanitizeException& e) {
      fail_parse("chemically invalid record (" + std::string(e.what()) + ")");
      continue;
    } catch (const RDKit::FileParseException& e) {
      fail_parse("malformed MOL block (" + std::string(e.what()) + ")");
      continue;
    } catch (const std::exception& e) {
      fail_parse("unreadable record (" + std::string(e.what()) + ")");
      continue;
    }
    if (!mol) {
      fail("empty MOL block");
      continue;
    }
    if (mol->getNumConformers() == 0) {
      fail("the record has no coordinates");
      continue;
    }
    const std::string key_prop = [&] {
      for (const auto& [k, v] : rec.properties)
        if (k == opts.group_by) return v;
      return std::string();
    }();
    const std::string key = !key_prop.empty() ? key_prop : (!rec.title.empty() ? rec.title
                                                                                 : "record" + std::to_string(rec.index));
    auto it = index_of.find(key);
    // The first record defines the molecule; later ones are compared with it
    // below (a reacted conformer may have split into fragments).
    if (it == index_of.end()) {
      try {
        check_chemistry(*mol, "molecule '" + key + "'", opts.allow_fragments);
      } catch (const chemistry_error& e) {
        fail(e.what());
        continue;
      }
    }
    auto xyz = to_coordinates(*mol);
    if (!xyz.allFinite()) {
      fail("non-finite coordinates (NaN or Inf)");
      continue;
    }
    if (opts.require_3d && xyz.rows() > 1 && xyz.col(2).cwiseAbs().maxCoeff() == 0.0) {
      fail("2D coordinates (every z is 0); a 3D conformer is required");
      continue;
    }
    if (opts.min_atom_distance > 0) {
      if (const auto why = too_close(xyz, opts.min_atom_distance); !why.empty()) {
        fail(why + ": not a physical conformer");
        continue;
      }
    }
    conformer_info info;
    info.title = rec.title;
    info.properties = rec.properties;
    info.source_line = rec.first_line;
    if (auto e = info.property("energy")) {
      try {
        info.energy = std::stod(*e);
      } catch (const std::exception&) {
        // Not a number: the text stays in `properties`, only the numeric field is unset.
      }
    }
    if (it == index_of.end()) {
      molecule_graph g;
      try {
        g = to_graph(*mol, key);
      } catch (const error& e) {
        fail(e.what());
        continue;
      }
      sdf_molecule m;
      m.data = ensemble<double>(key, std::move(g));
      m.data.add(xyz, std::move(info));
      m.mol = std::shared_ptr<const RDKit::ROMol>(mol.release());
      index_of.emplace(key, out.molecules.size());
      out.molecules.push_back(std::move(m));
      continue;
    }
    auto& m = out.molecules[it->second];
    const auto g = to_graph(*mol, key, /*perceive_stereo=*/false);  // only the constitution is compared
    const auto& first = m.data.graph;
    // Same molecule, same order: the common case.
    if (same_constitution(first, g)) {
      m.data.add(xyz, std::move(info));
      continue;
    }
    std::vector<unsigned> za, zb;
    for (const auto& a : first.atoms()) za.push_back(a.atomic_number);
    for (const auto& a : g.atoms()) zb.push_back(a.atomic_number);
    std::sort(za.begin(), za.end());
    std::sort(zb.begin(), zb.end());
    if (za != zb) {
      fail("molecule '" + key + "' was first read as " + first.formula() + " (" +
           std::to_string(first.num_atoms()) + " atoms) but this record is " + g.formula() + " (" +
           std::to_string(g.num_atoms()) + " atoms)");
      continue;
    }
    bool same_atom_order = true;
    for (std::size_t i = 0; i < g.num_atoms(); ++i)
      same_atom_order &= g.atom_at(i).atomic_number == first.atom_at(i).atomic_number;
    // Same atoms in another order: map them onto the first record's order.
    if (const auto map = constitution_map(first, g)) {
      coordinates<double> reordered(xyz.rows(), 3);
      for (std::size_t i = 0; i < map->size(); ++i) reordered.row(static_cast<Eigen::Index>(i)) = xyz.row((*map)[i]);
      info.set_property("confsgm_atom_order", "remapped to the first record of '" + key + "'");
      m.data.add(reordered, std::move(info));
      continue;
    }
    out.dropped.emplace_back(path, rec.first_line, rec.index,
                             detail::describe_record(rec) + "bond graph differs from the first record of '" + key +
                                 "' (" + (same_atom_order ? constitution_difference(first, g)
                                                          : std::string("same atoms, but no atom correspondence "
                                                                        "preserves bonds and charges")) +
                                 "); conformer left out");
    continue;
  }
  return out;
}

/// Reads every record of @p path, plain or gzip-compressed (*.gz), by the
/// rules of the file comment.
inline sdf_read_result read_sdf(const std::string& path, const sdf_read_options& opts = {}) {
  if (has_gz_suffix(path)) {  // the shipped data sets are gzip-compressed
    std::istringstream in(read_gzip_file(path));
    return read_sdf(in, path, opts);
  }
  std::ifstream in(path);
  if (!in) throw io_error(path, std::nullopt, std::nullopt, "cannot open the file for reading");
  return read_sdf(in, path, opts);
}

/// How an sdf_writer treats its temporary file (TARGET.partial) for a run that may be resumed.
struct sdf_writer_options {
  /// Keep the temporary file when the writer is destroyed without commit(), so that a journaled run (generate
  /// --resume) continues from it; by default it is removed and nothing is left behind.
  bool keep_partial = false;
  /// Continue an earlier run's temporary file, cut to this many bytes (what the run's journal vouches for: bytes
  /// after it belong to a conformer the killed run had not finished); empty: start a new file.
  std::optional<std::uintmax_t> resume_at;
};

/// Streams conformers into an SDF file atomically: nothing appears at the
/// target path until commit() succeeds.
class sdf_writer {
 public:
  explicit sdf_writer(std::string path, sdf_writer_options options = {})
      : path_(std::move(path)), tmp_(path_ + ".partial"), keep_partial_(options.keep_partial) {
    if (options.resume_at) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(tmp_, ec);
      if (ec)
        throw io_error(tmp_, std::nullopt, std::nullopt, "cannot resume: the partial file is missing (" + ec.message() + ")");
      if (size < *options.resume_at)
        throw io_error(tmp_, std::nullopt, std::nullopt,
                       "cannot resume: the partial file has " + std::to_string(size) + " bytes, fewer than the " +
                           std::to_string(*options.resume_at) + " its journal lists");
      std::filesystem::resize_file(tmp_, *options.resume_at, ec);
      if (ec) throw io_error(tmp_, std::nullopt, std::nullopt, "cannot resume: " + ec.message());
      out_.open(tmp_, std::ios::in | std::ios::out);
      out_.seekp(0, std::ios::end);
    } else {
      out_.open(tmp_, std::ios::out | std::ios::trunc);
    }
    if (!out_) throw io_error(tmp_, std::nullopt, std::nullopt, "cannot open the file for writing");
    out_.precision(17);
  }
  sdf_writer(const sdf_writer&) = delete;
  sdf_writer& operator=(const sdf_writer&) = delete;
  ~sdf_writer() {
    if (!committed_) {
      out_.close();
      std::error_code ec;
      if (!keep_partial_) std::filesystem::remove(tmp_, ec);
    }
  }

  /// The temporary file written until commit().
  const std::string& partial_path() const noexcept { return tmp_; }

  /// Hands everything written so far to the operating system and returns the temporary file's size: a run
  /// killed after this point loses nothing before it (a journal records it as the place to resume from).
  std::uintmax_t flush() {
    out_.flush();
    if (!out_) throw io_error(tmp_, std::nullopt, std::nullopt, "write failed (disk full?)");
    return static_cast<std::uintmax_t>(out_.tellp());
  }

  /// Writes one conformer: @p tmpl supplies atoms, bonds and stereo tags,
  /// @p xyz the coordinates, @p title the first line, @p props the SD data.
  template <class Derived>
  void write(const RDKit::ROMol& tmpl, const Eigen::MatrixBase<Derived>& xyz, const std::string& title,
             const std::vector<std::pair<std::string, std::string>>& props) {
    if (!xyz.allFinite())
      throw invalid_argument("sdf_writer: conformer '" + title + "' has non-finite coordinates (NaN or Inf); not written");
    RDKit::RWMol mol(tmpl);
    mol.clearConformers();
    set_coordinates(mol, xyz);
    mol.setProp(RDKit::common_properties::_Name, title);
    // V2000 gives a coordinate 10 characters (%10.4f). A value beyond them would run into the next field and
    // make the record unreadable, so such a conformer is written in V3000, which has no width limit.
    const bool fits_v2000 = (xyz.array() > -9999.9999).all() && (xyz.array() < 99999.9999).all();
    std::string block = RDKit::MolToMolBlock(mol, /*includeStereo=*/true, /*confId=*/-1, /*kekulize=*/true,
                                             /*forceV3000=*/!fits_v2000);
    out_ << block;
    for (const auto& [k, v] : props) out_ << ">  <" << k << ">\n" << v << "\n\n";
    out_ << "$$$$\n";
    if (!out_) throw io_error(tmp_, std::nullopt, std::nullopt, "write failed (disk full?)");
    ++written_;
  }

  /// Conformers written by this writer (a resumed file's earlier records not counted).
  std::size_t written() const noexcept { return written_; }

  /// Flushes and atomically renames the temporary file onto the target path.
  void commit() {
    out_.flush();
    out_.close();
    if (!out_) throw io_error(tmp_, std::nullopt, std::nullopt, "could not flush the file");
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw io_error(path_, std::nullopt, std::nullopt, "could not replace the file: " + ec.message());
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  std::fstream out_;
  std::size_t written_ = 0;
  bool keep_partial_ = false;
  bool committed_ = false;
};

}  // namespace confsgm::rdkit
