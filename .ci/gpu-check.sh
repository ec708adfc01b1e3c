#!/usr/bin/env bash
# The GPU check: in one call, within 10 minutes, on a machine with an NVIDIA GPU where CuPy, NumPy,
# pytest and torch are installed (no network needed):
#   1. the whole test suite with its device column on real CuPy  -> $OUT/tests.log
#   2. minigrad bench --backend cupy against PyTorch's cuDNN path,
#      medium and large sizes                                     -> $OUT/bench.log, $OUT/bench.json
#   3. the distributed tests (world of one; MPI ones skip without mpi4py), when tests/test_distributed*.py
#      exist                                                      -> $OUT/distributed.log
# plus what the machine has ($OUT/gpu.txt: nvidia-smi, versions, minigrad info) and $OUT/summary.txt.
# Run from the repository root: bash .ci/gpu-check.sh   (docs/guides/gpu-check.md)
# Knobs: GPU_CHECK_TESTS (test paths, default tests), GPU_CHECK_BENCH=0 (skip the benchmark),
# GPU_CHECK_BENCH_ARGS (replace the benchmark's options), GPU_CHECK_JOBS (pytest-xdist workers, if installed).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
unset MINIGRAD_TEST_DEVICE MINIGRAD_BACKEND  # the device column picks CuPy by itself when it runs
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }

{
  nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
  "$PY" - <<'PY'
import sys, numpy
print("python", sys.version.split()[0], "numpy", numpy.__version__)
for name in ("cupy", "torch", "xdist", "mpi4py"):
    try:
        module = __import__(name)
        extra = ""
        if name == "cupy":
            extra = f" available: {module.is_available()}"
        if name == "torch":
            extra = f" cuda: {module.cuda.is_available()} cudnn: {module.backends.cudnn.version()}"
        print(name, getattr(module, "__version__", "?") + extra)
    except Exception as e:  # report, do not hide
        print(name, "not importable:", repr(e))
PY
  "$PY" -m minigrad info 2>&1
} >"$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

# The project without network: setuptools is there; PYTHONPATH above is the fallback.
"$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e . >"$OUT/install.log" 2>&1 \
  && echo "installed editable" >>"$OUT/gpu.txt" || echo "using PYTHONPATH only" >>"$OUT/gpu.txt"

jobs=""
if "$PY" -c "import xdist" 2>/dev/null; then jobs="-n ${GPU_CHECK_JOBS:-8}"; fi
# 1. the suite (the distributed tests run on their own in step 3)
timeout 300 "$PY" -m pytest -q -p no:cacheprovider -rfEs $jobs --ignore-glob='tests/test_distributed*' \
  ${GPU_CHECK_TESTS:-tests} >"$OUT/tests.log" 2>&1
echo "tests: exit $? after $(elapsed)" | tee -a "$OUT/summary.txt"
tail -n 3 "$OUT/tests.log" | tee -a "$OUT/summary.txt"

# 2. the benchmark against cuDNN (minigrad bench synchronises the device before every clock read)
if [ "${GPU_CHECK_BENCH:-1}" = 1 ]; then
  timeout 150 "$PY" -m minigrad bench --backend cupy ${GPU_CHECK_BENCH_ARGS:---size medium --size large \
    --path both --rounds 5 --warmup 2 --json "$OUT/bench.json"} >"$OUT/bench.log" 2>&1
  echo "bench: exit $? after $(elapsed)" | tee -a "$OUT/summary.txt"
  cat "$OUT/bench.log"
  [ -f "$OUT/bench.json" ] && "$PY" - "$OUT/bench.json" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
data = json.load(open(sys.argv[1]))
against = "cuDNN" if data["header"].get("torch_device") == "cuda" else f"torch on {data['header'].get('torch_device')}"
for r in data.get("rows", []):
    ratio, torch_ms = r.get("minigrad_over_torch"), r.get("torch_ms")
    print(f"  {r['model']} N,T,I,H={r['N']},{r['T']},{r['I']},{r['H']} {r['path']}: minigrad {r['minigrad_ms']:.2f} ms, "
          + (f"{against} {torch_ms:.2f} ms, minigrad/{against} {ratio:.2f}x" if torch_ms else "no torch run"))
PY
fi

# 3. the distributed tests, when they exist (a world of one on the GPU; the MPI launches skip without mpi4py)
shopt -s nullglob
distributed=(tests/test_distributed*.py)
if [ ${#distributed[@]} -gt 0 ]; then
  timeout 50 "$PY" -m pytest -q -p no:cacheprovider -rfEs "${distributed[@]}" >"$OUT/distributed.log" 2>&1
  echo "distributed: exit $? after $(elapsed)" | tee -a "$OUT/summary.txt"
  tail -n 3 "$OUT/distributed.log" | tee -a "$OUT/summary.txt"
fi
echo "logs in $OUT: gpu.txt install.log tests.log bench.log bench.json distributed.log summary.txt"
