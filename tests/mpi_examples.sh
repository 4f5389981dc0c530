#!/usr/bin/env bash
# Examples under mpirun (registered by tests/distributed.cmake):
#
#   mpi_examples.sh same PROGRAM DIR ARGS...
#       runs PROGRAM ARGS as one process, then under `mpirun -np 2` and `-np 3` (1 thread per
#       rank), and requires the --metrics-out figures to be equal (timing keys aside)
#   mpi_examples.sh resume PROGRAM DIR ARGS... -- PART_ARGS... -- REST_ARGS...
#       ARGS PART_ARGS under `mpirun -np 2` with --checkpoint, then ARGS REST_ARGS --resume under
#       `mpirun -np 3`: the figures of ARGS REST_ARGS run straight through as one process
#   mpi_examples.sh fault PROGRAM DIR ARGS... -- RESUME_ARGS...
#       a 3-rank run with --checkpoint: once a checkpoint exists, rank 1 is killed (SIGKILL);
#       the run must end non-zero within 30 s, and the checkpoint must resume (one process,
#       with RESUME_ARGS)
#   mpi_examples.sh mismatch PROGRAM DIR ARGS... -- OTHER_ARGS...
#       rank 0 with ARGS, rank 1 with OTHER_ARGS: non-zero exit within 30 s, and a message
#       naming rank 1 and the differing option
set -uo pipefail
mode=$1 program=$2 dir=$3
shift 3
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1

fail() { echo "FAIL: $*" >&2; exit 1; }
# The metrics without the keys that measure time or the process layout.
figures() { grep -vE '"(wall_s|train_s|train_seconds|train_seconds_total|[a-z_]*_per_s|threads|ranks|reduce_[a-z_]*|epochs_this_run|decode_s|eval_s)"' "$1" | sed 's/,$//'; }

split_args() {  # ARGS -- OTHER_ARGS into first=() and second=()
  first=() second=()
  while (($#)) && [[ $1 != -- ]]; do first+=("$1"); shift; done
  (($#)) && shift
  second=("$@")
}

case $mode in
  same)
    "$program" "$@" --threads 1 --metrics-out one.json > one.log 2>&1 || { cat one.log; fail "one process"; }
    for np in 2 3; do
      "${mpirun[@]}" -np $np "$program" "$@" --threads 1 --metrics-out np$np.json > np$np.log 2>&1 ||
        { cat np$np.log; fail "mpirun -np $np"; }
      diff <(figures one.json) <(figures np$np.json) || fail "-np $np figures differ from one process"
      grep -q '"ranks": '$np np$np.json || fail "-np $np: no ranks entry"
      echo "ok: -np $np gives the figures of one process"
    done
    ;;
  resume)
    split_args "$@"
    common=("${first[@]}")
    split_args "${second[@]}"
    part=("${first[@]}") rest=("${second[@]}")
    "$program" "${common[@]}" "${rest[@]}" --threads 1 --metrics-out one.json > one.log 2>&1 || { cat one.log; fail "one process"; }
    "${mpirun[@]}" -np 2 "$program" "${common[@]}" "${part[@]}" --threads 1 --checkpoint ck.npz > part.log 2>&1 ||
      { cat part.log; fail "the first part under -np 2"; }
    "${mpirun[@]}" -np 3 "$program" "${common[@]}" "${rest[@]}" --threads 1 --checkpoint ck.npz --resume \
      --metrics-out resumed.json > rest.log 2>&1 || { cat rest.log; fail "the resumed rest under -np 3"; }
    diff <(figures one.json | grep -v start_step) <(figures resumed.json | grep -v start_step) ||
      fail "stopped under -np 2 and resumed under -np 3: not the figures of one uninterrupted process"
    echo "ok: -np 2, then --resume under -np 3, gives the figures of one uninterrupted process"
    ;;
  fault)
    split_args "$@"
    "${mpirun[@]}" -np 3 "$program" "${first[@]}" --threads 1 --checkpoint run.npz > run.log 2>&1 &
    launcher=$!
    for _ in $(seq 600); do [[ -f run.npz ]] && break; kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
    [[ -f run.npz ]] || { kill $launcher; cat run.log; fail "no checkpoint appeared"; }
    sleep 0.5
    ranks=$(pgrep -P $launcher -f "$(basename "$program")" | sort -n)
    victim=$(echo "$ranks" | sed -n 2p)
    [[ -n $victim ]] || { kill $launcher; fail "no rank process found under mpirun ($ranks)"; }
    start=$SECONDS
    kill -KILL "$victim"
    for _ in $(seq 300); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
    if kill -0 $launcher 2>/dev/null; then kill -KILL $launcher; fail "the other ranks still ran 30 s after rank 1 died"; fi
    wait $launcher
    rc=$?
    ((rc != 0)) || fail "mpirun exited 0 after a rank was killed"
    echo "ok: killed one rank, mpirun ended with $rc after $((SECONDS - start)) s"
    [[ ! -e run.npz.tmp ]] || echo "note: a temporary file was left beside the checkpoint"
    "$program" "${second[@]}" --threads 1 --checkpoint run.npz --resume --metrics-out resumed.json > resume.log 2>&1 ||
      { cat resume.log; fail "the checkpoint did not resume"; }
    grep -q resumed resume.log || fail "no 'resumed' line"
    echo "ok: the last checkpoint resumed"
    ;;
  mismatch)
    split_args "$@"
    start=$SECONDS
    timeout 60 "${mpirun[@]}" -np 1 "$program" "${first[@]}" --threads 1 : -np 1 "$program" "${second[@]}" --threads 1 \
      > run.log 2>&1
    rc=$?
    cat run.log
    ((rc != 0 && rc != 124)) || fail "exit $rc (0: accepted; 124: hung)"
    ((SECONDS - start <= 30)) || fail "took $((SECONDS - start)) s"
    grep -q "rank 1 was started with a different run configuration than rank 0" run.log || fail "no message naming rank 1"
    echo "ok: refused with exit $rc"
    ;;
  *) fail "unknown mode $mode" ;;
esac
