// confsgm: the reference application of the confsgm library.
#include <confsgm/confsgm.hpp>
#include <confsgm/util/allocator_tuning.hpp>

#include <iostream>
#include <string>

#include "cli.hpp"
#include "job.hpp"

namespace app {
int run_generate(arguments& args);
int run_evaluate(arguments& args);
int run_build_dataset(arguments& args);
int run_train(arguments& args);
int run_bias(arguments& args);
int run_match(arguments& args);
#if defined(CONFSGM_HAS_XTB)
int run_properties(arguments& args);
#endif
}  // namespace app

namespace {
const char* const help_text = R"(confsgm )" CONFSGM_VERSION_STRING R"( - conformer generation and evaluation

usage:
  confsgm generate --input FILE --output OUT.sdf [options]
  confsgm evaluate --ref REF.sdf --gen GEN.sdf [options]
  confsgm build-dataset --input LIST --out DIR [options]
  confsgm train --train TRAIN.sdf[.gz] --out MODEL [options]
  confsgm properties --ref REF.sdf --gen GEN.sdf [options]
  confsgm bias --model MODEL --data REF.sdf[.gz] [options]
  confsgm match --input REF.sdf[.gz] --output MATCHED.sdf [options]
  confsgm --help | --version

generate: conformer ensembles for every molecule of FILE
  --input FILE        .smi ("SMILES [name]" per line), .csv (header with a
                      smiles or corrected_smiles column, optional n_conformers)
                      or .sdf / .sdf.gz (molecules grouped by --group-by; the number of
                      records of a molecule is its reference count)
  --output OUT.sdf    multi-conformer SDF; SD properties per conformer: mol_id,
                      conf_index, method, seed, smiles, energy (when known),
                      rank, status ("ok" or the stereo problem found)
  --method M          etkdg (default, RDKit ETKDGv3), confgf (distance-space
                      score model + annealed Langevin, paper Algorithm 1) or
                      torsional (torsion-space model on ETKDG local structures)
  --model FILE|NAME   model for --method confgf / torsional: a file written by
                      confsgm train, or a shipped model's name (models/NAME.bin).
                      Default: the shipped <family>-<space>-ip models (qm9,
                      drugs), each molecule to the one with the smallest
                      training domain that holds it (docs/cli.md)
  --sampler S         torsional: sde (default, reverse SDE), ode (probability
                      flow) or langevin (annealed Langevin on the torus)
  --steps N           torsional: noise levels walked (default 20, reference)
  --langevin-steps T --langevin-step-size A   torsional langevin (10, 2e-4)
  --reuse-local       torsional: one ETKDG local structure per molecule
                      (default: one per conformer, as the reference)
  --steps-per-level T Langevin steps per noise level (default 100, ConfGF)
  --step-size A       smallest step a; alpha_t = a sigma_t^2/sigma_L^2 (2.4e-6)
  --clip C            per-atom score norm cap (default 1000)
  --init-std S        initial coordinates ~ N(0, S^2) (default 1 A)
  --mirror-images M   confgf: reflect (default) writes a sample's mirror image
                      when only that has the input's R/S labels (distances
                      cannot tell them apart); keep = ConfGF as published
  --num N             conformers per molecule (default: multiplier x the
                      molecule's reference count)
  --multiplier X      default 2 (the literature's 2 x n_ref protocol)
  --seed S            1..2^31-1, default 42
  --threads T         0 = all cores (default); output does not depend on it
  --backend B         cpu (default) or cuda: the score models' sampling on the
                      GPU (builds with CUDA; same noise as the CPU, fp32 results)
  --mmff              etkdg: relax with MMFF94 (energies written, rank by energy)
  --mmff-iterations N default 2000
  --relax R           any method: none (default), mmff94, mmff94s (RDKit), gfnff
                      or gfn2 (xtb program) relaxation of every conformer; the
                      energy and its unit are written, rank by energy; bonds and
                      R/S, E/Z are checked again and a changed conformer is not
                      written (--keep-changed keeps it, status says why)
  --relax-iterations N  iteration cap: MMFF iterations, xtb optimisation cycles
                      (default 2000); a capped conformer is written with status
                      ok (<refiner> not converged)
  --relax-level L     gfnff/gfn2: xtb's optimisation level: crude, sloppy,
                      loose, normal (default), tight, vtight or extreme
  --keep-changed      with --relax: write conformers whose bonds or stereo
                      changed, with the change in their status
  --epsilon-b B --epsilon-k K   confgf/torsional: Epsilon Scaling (exposure-bias
                      compensation): the score divided by K t + B, t = levels
                      left (L at sigma_max .. 1); default K = 0, B = 1 (none)
  --corrector-steps M --corrector-step-size R   confgf/torsional: M Langevin
                      corrector steps at each level before its predictor,
                      alpha = R sigma^2 (default none; R 0.1)
  --sigma-shift-window W --sigma-shift-cutoff S   confgf/torsional (confgf on
                      cpu only): score each molecule at the level within W of
                      the scheduled one that matches its noise as read from the
                      score norm, at levels with sigma >= S (W 0: none; S 0)
  --particle-guidance P   cpu: sample a molecule's conformers jointly with a
                      repulsion between them (Corso et al.). torsional (sde):
                      P = recall or precision (the paper's GEOM-Drugs settings,
                      symmetry-aware kernel), recall-plain or precision-plain
                      (plain torsion distance); confgf: P = distance:S:C
                      (strength S, kernel C sigma^2 per distance, symmetry-
                      aware) or distance-plain:S:C; default none
  --sampling-defaults D   model (default): the compensation parts not given
                      above are what the model file recommends (the shipped
                      Drugs torsion models: --sigma-shift-window 4); none: only
                      what is given
  --oversample K      generate K x the requested conformers (a pool), refine
                      them, then keep the requested number by --select
  --select R          energy: lowest energies within --energy-window (default
                      6 kcal/mol), duplicates (|dE| < 0.05 kcal/mol and RMSD <
                      0.125 A) removed (CREST's rule; needs --relax or --mmff);
                      diverse: farthest-point on the symmetry-aware RMSD, from
                      the lowest energy. Too few left: the best of the rest fill
                      up. Records get `selection` and `pool`
  --energy-window E   kcal/mol above the pool's lowest energy (with --select)
  --prune-rms X       RDKit heavy-atom RMSD pruning threshold (default off)
  --random-coords     RDKit useRandomCoords (large molecules)
  --allow-fragments   accept multi-fragment inputs (salts) instead of failing
  --group-by NAME     SD property naming the molecule (default mol_id)
  --resume            continue a killed run: the molecules listed in OUT.sdf.journal
                      (written after every molecule) are kept from OUT.sdf.partial
                      and the rest generated; the output equals an uninterrupted
                      run's. Refused, naming the setting, if input, models or
                      sampling settings differ. Without it a run starts afresh
  --quiet             no progress lines on stderr

evaluate: COV/MAT of a generated ensemble against a reference ensemble
  --ref REF.sdf --gen GEN.sdf   molecules matched by --group-by (default mol_id)
  --threshold D       Angstrom, default 1.25 (Drugs); QM9 uses 0.5
  --op lt|le          covered if RMSD < D (lt, paper Eq. 6, default) or <= D
                      (ConfGF/GeoDiff)
  --missing uncovered|exclude   molecules without generated conformers count
                      with COV = 0 and no MAT (default) or are excluded
  --sweep             also report COV at 0, 0.125, ..., 2.375 A
  --per-molecule      print a per-molecule table
  --json OUT.json     machine-readable report
  --rmsd-dir DIR      write each molecule's reference x generated RMSD matrix
                      as DIR/<mol_id>.npy (float64, rows = references)
  --label NAME        method name in the table (default: the method property)
  --no-symmetrize-terminal  do not treat terminal O/N pairs (COO-, NO2) as
                      equivalent (RDKit GetBestRMS does by default)
  --atoms A           heavy (default): strictly the heavy atoms; removehs: the
                      atoms RDKit's RemoveHs keeps (heavy atoms and the H that
                      fixes an E/Z double bond, e.g. of an imine), the protocol
                      of Torsional Diffusion and GeoMol (RemoveHs + GetBestRMS)
  --threads T         0 = all cores (default)
  --quiet             no progress lines on stderr

build-dataset: GEOM-protocol reference ensembles (ETKDG starts -> MMFF94 ->
GFN2-xTB optimisation -> bond/stereo checks -> energy window -> duplicates ->
Boltzmann weights), resumable: rerun the same command after a kill
  --input LIST        .smi or .csv list (ids from the name column)
  --out DIR           work folder; results: DIR/ensembles.sdf.gz, status.tsv,
                      manifest.json (see docs/data.md)
  --jobs N            molecules built in parallel (default 2; xtb 1 thread each)
  --seed S            ETKDG seed and stereoisomer choice (default 42)
  --starts-base B --starts-per-rotor R --starts-max M
                      ETKDG starts = min(M, B + R x rotatable bonds), default 4, 3, 30
  --ewin E            energy window, kcal/mol (default 6, CREST)
  --rthr R --ethr E   duplicates: RMSD < R A and |dE| < E kcal/mol (0.125, 0.05)
  --temperature T     Boltzmann weights at T K (default 298.15)
  --xtb PATH          xtb executable (default: xtb on PATH)
  --xtb-level L       xtb --opt level (default normal)
  --xtb-timeout S     seconds per xtb run before it is stopped (default 900)
  --tier T            full (default: GFN2-xTB optimisation of every start);
                      gfnff-opt (GFN-FF optimisation of every start, pre-filter,
                      GFN2-xTB optimisation of the survivors); gfnff-sp (GFN-FF
                      minima, GFN2-xTB single-point energies). Fast tiers are for
                      training data: docs/data.md measures their fidelity
  --prefilter-ewin E  fast tiers: window on GFN-FF energies before GFN2-xTB,
                      kcal/mol (default 12, >= --ewin)
  --keep-failed-xtb   keep the scratch folders of failed xtb runs
  --limit N           only the first N molecules of LIST
  --quiet             no progress lines on stderr

train: denoising score matching (paper Alg. 3) of the distance-space model, or
of the torsion-space model (--space torsion: conformer matching onto ETKDG
local structures first; MODEL.matching.tsv lists the matching RMSDs)
  --space S           distance (default) or torsion
  --train FILE        multi-conformer SDF (.sdf or .sdf.gz), e.g. data/qm9/train.sdf.gz
  --val FILE          validation SDF (plain DSM loss; picks the best epoch)
  --out MODEL         best-validation weights; MODEL.ckpt = latest checkpoint,
                      MODEL.log.csv = loss curve
  --perturbation P    none (default), ip (paper Eq. 4: input sigma(eps+lambda xi),
                      target from eps) or td-ip (TD-IP code: + lambda xi absolute)
  --lambda L          perturbation weight (default 0.1)
  --hidden H --layers L   network width and depth (default 128, 4; torsion 64, 4)
  --rotatable R       torsion: stereo-safe (default, single bonds) or reference
  --matched           torsion: the inputs were written by confsgm match
  --cutoff R          torsion: pair cutoff in A (default 5)
  --epochs N          default 100; --max-minutes M stops earlier (resumable)
  --batch B           molecules per step (default 32); --micro-batch 8
  --lr X              Adam learning rate (default 1e-3); --clip-grad 100
  --patience N        epochs without improvement before lr x --plateau-factor
                      (defaults: distance 10 and 0.6 as ConfGF, torsion 20 and 0.7 as TD)
  --conformers-per-molecule K   lowest-energy conformers used (default: distance
                      5 as ConfGF, torsion 30 as TD)
  --sigma-max 10 --sigma-min 0.01 --levels 50   geometric noise schedule
                      (torsion: sigma log-uniform in [0.0314, 3.14])
  --seed S            default 2021; same seed = same weights, any --threads
  --resume            continue from MODEL.ckpt (or --checkpoint FILE)
  --checkpoint-every N  steps between checkpoints (default 200)
  --log-every N       steps between progress lines (default 50)
  --threads T         0 = all cores
  --backend B         cpu (default) or cuda: forward and backward passes on the
                      GPU, same trainer, data order and model files; under
                      mpirun each rank takes GPU (node rank mod GPU count)

match: conformer matching once for many torsion-space trainings: each
conformer's torsions set on its own ETKDG local structure, RMSD minimised
  --input REF.sdf     reference ensembles; --output MATCHED.sdf (then gzip it)
  --conformers-per-molecule K (30, TD)  --seed S (2021)  --rotatable R  --threads T
  --report FILE       matching RMSDs (default OUTPUT.tsv)
  train --space torsion --matched reads the result without matching again

bias: exposure bias per noise level (paper Algorithm 2) of a trained model:
noise a reference conformer to level t, run the zero-noise sampler to the end,
record the error; a markdown table on stdout
  --model MODEL       distance or torsion model (the kind is read from the file)
  --data REF.sdf      reference conformers (torsion: conformer-matched first)
  --samples-per-level N   default 50 (stratified); --uniform-levels draws t ~ U
                      (the paper's plan) for N x levels samples in all
  --molecules N       only the first N molecules (default all)
  --conformers-per-molecule K   lowest-energy conformers drawn from (default 5)
  --update U          torsion: sde (drift of the reverse SDE, default) or ode
  --steps N           torsion: sampling levels (default 20)
  --steps-per-level T --step-size A   distance: Langevin settings (100, 2.4e-6)
  --epsilon-b B --epsilon-k K, --corrector-steps M --corrector-step-size R,
  --sigma-shift-window W --sigma-shift-cutoff S   sampling-time compensation
                      of the zero-noise sampler (as in generate; cpu only)
  --sampling-defaults D   none (default: what is given) or model (the parts
                      not given as the model file recommends, as generate)
  --calibrate-epsilon OUT.csv   torsion, cpu: instead of the bias, Epsilon
                      Scaling's lambda per level from data (the plain sampler's
                      score norm over the norm on perturbed references) and
                      its fit --epsilon-k K --epsilon-b B
  --csv OUT.csv       per-level means; --errors OUT.csv every sample's error
  --label NAME        model name in the outputs; --seed S (2021); --threads T
  --backend B         cpu (default) or cuda: the zero-noise sampler on the GPU

properties: ensemble property prediction (paper Table V) with GFN2-xTB
  --ref REF.sdf --gen GEN.sdf   molecules matched by mol_id
  --molecules N       molecules drawn with --seed (default 30)
  --conformers K      conformers per ensemble drawn with --seed (default 50)
  --seed S            default 2021
  --average A         mean (default; GeoDiff/ConfGF eval_prop) or boltzmann
  --relax             relax generated conformers with xtb first (TD protocol)
  --jobs N            parallel xtb relaxations (default 2)
  --per-molecule      per-molecule table; --json OUT.json report; --label NAME

exit codes:
  0  success
  1  finished, but some input records or molecules were rejected (see stderr)
  2  bad command line
  3  no usable input
  4  unexpected internal error
)";
}  // namespace

int main(int argc, char** argv) {
  confsgm::keep_large_allocations_on_heap();  // per-step buffers: no mmap/munmap churn
  if (argc < 2) {
    std::cerr << help_text;
    return app::usage;
  }
  const std::string cmd = argv[1];
  // Under mpirun: MPI starts here, and a rank that fails ends the whole job (the others may be waiting for it in a
  // collective call); what the ranks finished stays on disk for --resume (docs/scale.md).
  const auto& job = app::job::current();
  const auto end_job = [&](int code) {
    if (job.size() > 1) job.abort(code);
    return code;
  };
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << help_text;
    return app::ok;
  }
  if (cmd == "--version") {
    std::cout << "confsgm " << CONFSGM_VERSION_STRING << "\n";
    return app::ok;
  }
  try {
    for (int i = 2; i < argc; ++i)
      if (std::string(argv[i]) == "--help") {
        std::cout << help_text;
        return app::ok;
      }
    if (cmd == "generate") {
      app::arguments args(argc, argv, 2, {"mmff", "random-coords", "allow-fragments", "quiet", "reuse-local", "resume", "keep-changed"});
      return app::run_generate(args);
    }
    if (cmd == "evaluate") {
      app::arguments args(argc, argv, 2, {"sweep", "per-molecule", "no-symmetrize-terminal", "quiet"});
      return app::run_evaluate(args);
    }
    if (cmd == "train") {
      app::arguments args(argc, argv, 2, {"resume", "quiet", "matched"});
      return app::run_train(args);
    }
    if (cmd == "match") {
      app::arguments args(argc, argv, 2, {"quiet"});
      return app::run_match(args);
    }
    if (cmd == "bias") {
      app::arguments args(argc, argv, 2, {"uniform-levels", "quiet"});
      return app::run_bias(args);
    }
    if (cmd == "properties") {
#if defined(CONFSGM_HAS_XTB)
      app::arguments args(argc, argv, 2, {"relax", "per-molecule", "quiet"});
      return app::run_properties(args);
#else
      std::cerr << "confsgm properties: this build has no libxtb (apt-get install libxtb-dev, then rebuild)\n";
      return app::usage;
#endif
    }
    if (cmd == "build-dataset") {
      app::arguments args(argc, argv, 2, {"keep-failed-xtb", "quiet"});
      return app::run_build_dataset(args);
    }
    std::cerr << "confsgm: unknown command '" << cmd << "' (try confsgm --help)\n";
    return app::usage;
  } catch (const app::usage_error& e) {
    // Every rank reads the same command line: one message is enough.
    if (job.root()) std::cerr << "confsgm " << cmd << ": " << e.what() << " (see confsgm --help)\n";
    return end_job(app::usage);
  } catch (const confsgm::io_error& e) {
    std::cerr << "confsgm " << cmd << ": " << job.prefix() << e.what() << "\n";
    return end_job(app::input_failure);
  } catch (const std::exception& e) {
    std::cerr << "confsgm " << cmd << ": " << job.prefix() << "internal error: " << e.what() << "\n";
    return end_job(app::internal);
  }
}
