// confsgm/xtb/program.hpp: GFN2-xTB through the `xtb` program (Grimme group,
// Debian package `xtb`): geometry optimisation with xtb's own ANCopt optimiser,
// the one CREST and hence GEOM used, and single points with the properties
// GEOM reports (total energy, HOMO-LUMO gap, dipole).
//
// Each call runs one xtb process in a private scratch directory (xtb writes
// fixed file names into its working directory), pinned to `threads` OpenMP
// threads, so callers parallelise over molecules, not inside xtb. POSIX only.
// Nothing is printed: xtb's output goes to files, and failures come back as
// results with a message (a failed optimisation is data, not an exception).
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/element.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace confsgm::xtb {

/// The level of theory xtb runs. GFN-FF (a force field, Spicher & Grimme 2020)
/// optimises a drug-sized start about 40x faster than GFN2-xTB and serves the
/// data builder's fast tiers as a pre-optimiser (geom_protocol.hpp).
enum class hamiltonian { gfn2, gfnff };

inline const char* hamiltonian_name(hamiltonian h) noexcept { return h == hamiltonian::gfnff ? "GFN-FF" : "GFN2-xTB"; }

struct program_options {
  std::string executable = "xtb";       ///< found on PATH unless a path is given
  hamiltonian method = hamiltonian::gfn2;
  std::string optimization_level = "normal";  ///< crude, sloppy, loose, normal, tight, vtight, extreme
  unsigned max_cycles = 0;              ///< optimisation cycle cap (xtb --cycles); 0 = xtb's own, by molecule size
  /// An optimisation that stops at the cycle cap without converging: false = a failure (the data builder's rule),
  /// true = its last geometry and energy, with result::converged false (a refiner's rule, as for MMFF94).
  bool accept_unconverged = false;
  unsigned threads = 1;                 ///< OpenMP threads of the xtb process
  double timeout_s = 0;                 ///< 0 = none; a timed-out run is killed and reported
  std::filesystem::path scratch;        ///< parent of the per-call directories; empty = system temp
  bool keep_failed = false;             ///< keep the scratch directory of failed runs (for debugging)
};

/// xtb's optimisation levels (program_options::optimization_level), coarsest first, as one text for messages.
inline constexpr const char* optimization_levels = "crude, sloppy, loose, normal, tight, vtight, extreme";

/// Whether @p level is one of optimization_levels.
inline bool is_optimization_level(const std::string& level) {
  for (const char* known : {"crude", "sloppy", "loose", "normal", "tight", "vtight", "extreme"})
    if (level == known) return true;
  return false;
}

struct result {
  bool ok = false;                      ///< xtb ran, and (for optimisations) converged
  std::string message;                  ///< why not, when !ok
  double energy_hartree = 0;            ///< GFN2-xTB total energy
  coordinates<double> xyz;              ///< optimised geometry (optimisations only)
  bool converged = true;                ///< false: the cycle cap stopped it (only with accept_unconverged)
  std::optional<double> homo_lumo_gap_ev;
  std::optional<double> dipole_debye;   ///< |mu|, xtb's "full" dipole
  double seconds = 0;                   ///< wall time of the xtb process
};

namespace detail {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The last number on the last line of @p text containing @p key (e.g. "TOTAL ENERGY").
inline std::optional<double> number_after(const std::string& text, const std::string& key) {
  const auto pos = text.rfind(key);
  if (pos == std::string::npos) return std::nullopt;
  std::istringstream line(text.substr(pos + key.size(), text.find('\n', pos) - pos - key.size()));
  double v;
  if (line >> v) return v;
  return std::nullopt;
}

inline std::optional<double> dipole_total(const std::string& out) {
  const auto pos = out.rfind("molecular dipole:");
  if (pos == std::string::npos) return std::nullopt;
  const auto full = out.find("full:", pos);
  if (full == std::string::npos) return std::nullopt;
  std::istringstream line(out.substr(full + 5, out.find('\n', full) - full - 5));
  double x, y, z, t;
  if (line >> x >> y >> z >> t) return t;
  return std::nullopt;
}

/// Last few "[ERROR]" or "abnormal termination" lines of xtb's output, for messages.
inline std::string error_lines(const std::string& text) {
  std::istringstream in(text);
  std::string line, msg;
  while (std::getline(in, line))
    if (line.find("[ERROR]") != std::string::npos || line.find("abnormal") != std::string::npos ||
        line.find("FAILED") != std::string::npos) {
      const auto b = line.find_first_not_of(" #-");
      msg += (msg.empty() ? "" : " | ") + line.substr(b == std::string::npos ? 0 : b);
    }
  return msg.size() > 400 ? msg.substr(msg.size() - 400) : msg;
}

class scratch_dir {
 public:
  scratch_dir(const std::filesystem::path& parent, bool keep_on_failure) : keep_(keep_on_failure) {
    auto base = parent.empty() ? std::filesystem::temp_directory_path() : parent;
    std::string templ = (base / "confsgm-xtb-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
      throw io_error(templ, std::nullopt, std::nullopt,
                     std::string("cannot create a scratch directory for xtb: ") + std::strerror(errno));
    path_ = templ;
  }
  ~scratch_dir() {
    if (keep_ && failed_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  void mark_failed() noexcept { failed_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false, failed_ = false;
};

/// Runs @p args (args[0] = program) in @p dir with stdout/stderr to files.
/// Returns the exit status, or -1 with @p why set when it could not run or timed out.
inline int spawn_in(const std::filesystem::path& dir, const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env, double timeout_s, std::string& why) {
  std::vector<std::string> env_store;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    bool overridden = false;
    for (const auto& x : extra_env) overridden |= kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0;
    if (!overridden) env_store.push_back(std::move(kv));
  }
  for (const auto& x : extra_env) env_store.push_back(x);
  std::vector<char*> envp, argv;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_store = args;
  for (auto& s : args_store) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "xtb.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, "xtb.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    why = "cannot start '" + args[0] + "': " + std::strerror(rc) + " (is xtb installed? apt-get install xtb)";
    return -1;
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, timeout_s > 0 ? WNOHANG : 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      why = std::string("waitpid failed: ") + std::strerror(errno);
      return -1;
    }
    if (timeout_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      why = "xtb did not finish within " + std::to_string(static_cast<long>(timeout_s)) + " s and was stopped";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFSIGNALED(status)) {
    why = "xtb was killed by signal " + std::to_string(WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

template <class Derived>
void write_xyz(const std::filesystem::path& p, const molecule_graph& g, const Eigen::MatrixBase<Derived>& xyz) {
  std::ofstream out(p);
  out << g.num_atoms() << "\n" << g.name() << "\n";
  out.precision(10);
  out << std::fixed;
  for (std::size_t i = 0; i < g.num_atoms(); ++i)
    out << element_symbol(g.atom_at(i).atomic_number) << ' ' << xyz(i, 0) << ' ' << xyz(i, 1) << ' ' << xyz(i, 2)
        << "\n";
  if (!out) throw io_error(p.string(), std::nullopt, std::nullopt, "cannot write the xtb input");
}

/// The coordinates of an XYZ text of @p n_atoms atoms (xtb's xtbopt.xyz), or empty when it is not one.
inline std::optional<coordinates<double>> parse_xyz(const std::string& text, std::size_t n_atoms) {
  std::istringstream in(text);
  std::size_t n = 0;
  if (!(in >> n) || n != n_atoms) return std::nullopt;
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  coordinates<double> xyz(static_cast<Eigen::Index>(n), 3);
  for (std::size_t i = 0; i < n; ++i) {
    std::string sym;
    if (!(in >> sym >> xyz(i, 0) >> xyz(i, 1) >> xyz(i, 2))) return std::nullopt;
  }
  return xyz;
}

inline std::optional<coordinates<double>> read_xyz(const std::filesystem::path& p, std::size_t n_atoms) {
  return parse_xyz(read_text(p), n_atoms);
}

template <class Derived>
result run(const molecule_graph& g, const Eigen::MatrixBase<Derived>& xyz, int charge, int unpaired,
           const program_options& opts, bool optimise) {
  if (static_cast<std::size_t>(xyz.rows()) != g.num_atoms() || xyz.cols() != 3)
    throw shape_mismatch("xtb: conformer is " + std::to_string(xyz.rows()) + "x" + std::to_string(xyz.cols()) +
                         " but '" + g.name() + "' has " + std::to_string(g.num_atoms()) + " atoms");
  if (!xyz.allFinite())
    throw invalid_argument("xtb: the input coordinates of '" + g.name() + "' are not finite");
  if (unpaired < 0) throw invalid_argument("xtb: number of unpaired electrons must be >= 0");
  if (optimise && !is_optimization_level(opts.optimization_level))
    throw invalid_argument("xtb: unknown optimisation level '" + opts.optimization_level + "' (" +
                           optimization_levels + ")");
  scratch_dir dir(opts.scratch, opts.keep_failed);
  write_xyz(dir.path() / "input.xyz", g, xyz);
  std::vector<std::string> args = {opts.executable, "input.xyz"};
  if (opts.method == hamiltonian::gfnff) {
    args.push_back("--gfnff");
  } else {
    args.push_back("--gfn");
    args.push_back("2");
  }
  args.insert(args.end(), {"--chrg", std::to_string(charge), "--uhf", std::to_string(unpaired)});
  if (optimise) {
    args.push_back("--opt");
    args.push_back(opts.optimization_level);
    if (opts.max_cycles > 0) args.insert(args.end(), {"--cycles", std::to_string(opts.max_cycles)});
  } else {
    args.push_back("--sp");
  }
  const std::string nt = std::to_string(opts.threads == 0 ? 1 : opts.threads);
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = spawn_in(dir.path(), args,
                          {"OMP_NUM_THREADS=" + nt + ",1", "MKL_NUM_THREADS=" + nt, "OPENBLAS_NUM_THREADS=" + nt, "OMP_MAX_ACTIVE_LEVELS=1",
                           "OMP_STACKSIZE=1G"},
                          opts.timeout_s, why);
  result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto fail = [&](std::string msg) {
    dir.mark_failed();
    r.ok = false;
    r.message = std::move(msg);
    if (opts.keep_failed) r.message += " (files kept in " + dir.path().string() + ")";
    return r;
  };
  if (rc < 0) return fail(why);
  const auto out = read_text(dir.path() / "xtb.out");
  if (rc != 0) {
    auto lines = error_lines(out + read_text(dir.path() / "xtb.err"));
    return fail("xtb exited with status " + std::to_string(rc) + (lines.empty() ? "" : ": " + lines));
  }
  r.homo_lumo_gap_ev = number_after(out, "HOMO-LUMO GAP");
  r.dipole_debye = dipole_total(out);
  if (const auto e = number_after(out, "TOTAL ENERGY")) r.energy_hartree = *e;
  else return fail("xtb finished but printed no TOTAL ENERGY");
  if (optimise) {
    // xtb 6.5 writes .xtboptok also when the cycle cap stops it; the log says which.
    r.converged = std::filesystem::exists(dir.path() / ".xtboptok") &&
                  out.find("FAILED TO CONVERGE GEOMETRY OPTIMIZATION") == std::string::npos;
    if (!r.converged && !opts.accept_unconverged)
      return fail(std::string(hamiltonian_name(opts.method)) + " optimisation (" + opts.optimization_level +
                  ") did not converge");
    auto geo = read_xyz(dir.path() / "xtbopt.xyz", g.num_atoms());
    if (!geo || !geo->allFinite())
      return fail(std::string("xtb ") + (r.converged ? "converged" : "stopped at its cycle cap") +
                  " but xtbopt.xyz is missing or unreadable");
    r.xyz = std::move(*geo);
  }
  r.ok = true;
  return r;
}

}  // namespace detail

/// Relaxes @p xyz (Å, atom order of @p g) with GFN2-xTB (or opts.method); the net @p charge
/// and the number of @p unpaired electrons are passed to xtb.
template <class Derived>
result optimize(const molecule_graph& g, const Eigen::MatrixBase<Derived>& xyz, int charge = 0, int unpaired = 0,
                const program_options& opts = {}) {
  return detail::run(g, xyz, charge, unpaired, opts, true);
}

/// GFN2-xTB single point: energy, HOMO-LUMO gap and dipole of @p xyz as given.
template <class Derived>
result singlepoint(const molecule_graph& g, const Eigen::MatrixBase<Derived>& xyz, int charge = 0,
                   int unpaired = 0, const program_options& opts = {}) {
  return detail::run(g, xyz, charge, unpaired, opts, false);
}

/// "6.5.1" for the configured executable, or an empty string when it cannot run.
inline std::string version(const program_options& opts = {}) {
  detail::scratch_dir dir(opts.scratch, false);
  std::string why;
  if (detail::spawn_in(dir.path(), {opts.executable, "--version"}, {}, 30, why) < 0) return {};
  const auto out = detail::read_text(dir.path() / "xtb.out");
  const auto pos = out.find("xtb version");
  if (pos == std::string::npos) return {};
  std::istringstream s(out.substr(pos + 11));
  std::string v;
  s >> v;
  return v;
}

}  // namespace confsgm::xtb
