#!/usr/bin/env bash
# The dialogops GitHub Action's own step (action.yml): run one dialogops command in the
# working directory and hand GitHub what it needs: annotations, the job summary, step
# outputs, the saved plan for the artifact, and after apply the state file pushed back.
#
# In:  DIALOGOPS_COMMAND (validate | plan | apply), DIALOGOPS_ARGS (split on whitespace),
#      DIALOGOPS_ENVIRONMENT, DIALOGOPS_PLAN_DIR (where plan saves and apply finds the plan),
#      DIALOGOPS_COMMIT_STATE (apply: a state file to commit and push; empty: none),
#      GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_REF_NAME (set by GitHub).
set -euo pipefail

command=${DIALOGOPS_COMMAND:?"the action's command input: validate, plan or apply"}
environment=${DIALOGOPS_ENVIRONMENT:-production}
plan_dir=${DIALOGOPS_PLAN_DIR:?"a folder for the saved plan"}
read -ra args <<< "${DIALOGOPS_ARGS:-}"

# A step output; the random delimiter keeps text from the manifests from ending it early.
output() {
  local delimiter
  delimiter="dialogops_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >> "$GITHUB_OUTPUT"
}

# Commit the state file apply wrote and push it to the branch, rebasing over commits that
# landed meanwhile: the next plan must start from the campaigns that now exist.
commit_state() {
  local state=$1
  if [ -z "$(git status --porcelain -- "$state")" ]; then
    return 0
  fi
  export GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]"
  export GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
  export GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
  git add -- "$state"
  git commit --quiet -m "dialogops apply ($environment): state after $GITHUB_SHA" -- "$state"
  for attempt in 1 2 3; do
    if git push --quiet origin "HEAD:refs/heads/$GITHUB_REF_NAME"; then
      return 0
    fi
    echo "push refused (attempt $attempt): rebasing on $GITHUB_REF_NAME"
    git pull --quiet --rebase origin "$GITHUB_REF_NAME"
  done
  echo "::error title=dialogops::the state file could not be pushed: commit $(git rev-parse HEAD) holds it; push it before the next apply"
  return 1
}

status=0
case $command in
  validate)
    dialogops validate --format github "${args[@]}" || status=$?
    ;;
  plan)
    mkdir -p "$plan_dir"
    dialogops plan --format markdown --out "$plan_dir/plan.json" "${args[@]}" \
      > "$plan_dir/plan.md" || status=$?
    if [ -s "$plan_dir/plan.md" ]; then
      cat "$plan_dir/plan.md"
      cat "$plan_dir/plan.md" >> "$GITHUB_STEP_SUMMARY"
      output markdown "$(cat "$plan_dir/plan.md")"
    else
      # No plan could be made: show why on the files at fault in the pull request.
      dialogops plan --format github "${args[@]}" || true
      printf '### dialogops plan (%s) failed\n\nSee the annotations and the job log.\n' \
        "$environment" >> "$GITHUB_STEP_SUMMARY"
    fi
    if [ -f "$plan_dir/plan.json" ]; then
      echo "saved=true" >> "$GITHUB_OUTPUT"
    fi
    ;;
  apply)
    if [ ! -f "$plan_dir/plan.json" ]; then
      echo "::error title=dialogops::no saved plan in $plan_dir: apply runs only a reviewed plan"
      exit 1
    fi
    dialogops apply --plan "$plan_dir/plan.json" "${args[@]}" 2>&1 \
      | tee "$plan_dir/apply.txt" || status=$?
    printf '### dialogops apply (%s)\n\n```text\n%s\n```\n' \
      "$environment" "$(cat "$plan_dir/apply.txt")" >> "$GITHUB_STEP_SUMMARY"
    # Whatever apply's outcome: a failed apply may have created some campaigns already.
    if [ -n "${DIALOGOPS_COMMIT_STATE:-}" ]; then
      commit_state "$DIALOGOPS_COMMIT_STATE" || status=1
    fi
    ;;
  *)
    echo "::error title=dialogops::unknown command '$command': use validate, plan or apply"
    exit 1
    ;;
esac
echo "exitcode=$status" >> "$GITHUB_OUTPUT"
exit "$status"
