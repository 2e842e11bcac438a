#!/usr/bin/env bash
# The long form of the chaos test (tests/e2e/test_faults_chaos.py): workers
# killed with SIGKILL at random, seeded moments while they post many jobs to
# all three platforms (the fakes); every job must end completed, with exactly
# one post per platform. Starts its own stack (Postgres, nginx, the programs)
# from an existing build and stops it at the end. See docs/RELIABILITY.md.
#
#   scripts/chaos.sh [--many-hosts] [JOBS [SEED [MINUTES [KILL_EVERY]]]]
#     --many-hosts  the many-hosts test instead (tests/e2e/test_faults_many_hosts.py):
#                 three workers, each with its own spool folder and host name,
#                 while the video behind every second job is replaced at its URL
#                 (every REPLACE_EVERY "min,max" seconds, default 1,3); each job's
#                 platforms must hold one version of its video, never two
#     JOBS        jobs to post (default 1000; 100 with --many-hosts)
#     SEED        the random seed of the kills (default: a new one, printed)
#     MINUTES     how long kills go on at most (default 20)
#     KILL_EVERY  "min,max" seconds between kills (default 0.5,1.5; 1,3 with --many-hosts)
#   SP_BUILD_DIR  the build to test (default build; build-asan works too)
set -euo pipefail
cd "$(dirname "$0")/.."
many_hosts=0
if [ "${1:-}" = --many-hosts ]; then
    many_hosts=1
    shift
fi
jobs=${1:-$([ $many_hosts -eq 1 ] && echo 100 || echo 1000)}
seed=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
minutes=${3:-20}
every=${4:-$([ $many_hosts -eq 1 ] && echo 1,3 || echo 0.5,1.5)}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
build=$(cd "${SP_BUILD_DIR:-build}" && pwd)
sanitize=OFF
grep -q '^SP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && sanitize=ON
export SP_SOURCE_DIR=$PWD SP_BUILD_DIR=$build SP_STACK_DIR=$build/chaos-stack \
    PYTHONPATH=$PWD/tests/e2e:$PWD/tests/fakes PYTHONDONTWRITEBYTECODE=1 SP_SANITIZE=$sanitize \
    SP_CHAOS_JOBS=$jobs SP_CHAOS_SEED=$seed SP_CHAOS_SECONDS=$((minutes * 60)) SP_CHAOS_KILL_EVERY=$every \
    SP_MANY_HOSTS_JOBS=$jobs SP_MANY_HOSTS_SEED=$seed SP_MANY_HOSTS_SECONDS=$((minutes * 60)) \
    SP_MANY_HOSTS_KILL_EVERY=$every SP_MANY_HOSTS_REPLACE_EVERY=${REPLACE_EVERY:-1,3}
echo "chaos$([ $many_hosts -eq 1 ] && echo ' (many hosts)'): $jobs jobs, seed $seed, kills for at most $minutes min every $every s ($build)"
"$py" scripts/stack.py start
status=0
if [ $many_hosts -eq 1 ]; then
    "$py" tests/e2e/test_faults_many_hosts.py \
        test_three_hosts_killed_at_random_never_post_a_stitched_video || status=$?
else
    "$py" tests/e2e/test_faults_chaos.py test_kill_9_at_random_moments_posts_every_job_exactly_once || status=$?
fi
"$py" scripts/stack.py stop || status=1
echo "chaos: seed $seed: $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
