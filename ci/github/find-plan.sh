#!/usr/bin/env bash
# The dialogops GitHub Action's apply (action.yml): find the workflow run that saved the plan
# of the pull request merged as this commit, for actions/download-artifact. A commit that
# did not come from a pull request has no reviewed plan, and apply refuses it.
#
# In:  DIALOGOPS_ENVIRONMENT, GH_TOKEN, GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_OUTPUT.
# Out: run-id, the workflow run whose artifact dialogops-plan-ENVIRONMENT holds the plan.
set -euo pipefail

artifact="dialogops-plan-${DIALOGOPS_ENVIRONMENT:?"the action's environment input"}"
head=$(gh api "repos/$GITHUB_REPOSITORY/commits/$GITHUB_SHA/pulls" \
  --jq '[.[] | select(.merged_at != null)][0].head.sha // empty')
if [ -z "$head" ]; then
  echo "::error title=dialogops::$GITHUB_SHA is not the merge of a pull request: apply runs only a plan reviewed in one"
  exit 1
fi
# Newest first: a plan run again on the same commit replaces the earlier one.
run_id=$(gh api "repos/$GITHUB_REPOSITORY/actions/artifacts?name=$artifact&per_page=100" \
  --jq "[.artifacts[] | select(.workflow_run.head_sha == \"$head\" and (.expired | not))][0].workflow_run.id // empty")
if [ -z "$run_id" ]; then
  echo "::error title=dialogops::no $artifact artifact for the pull request's last commit $head: run its plan again"
  exit 1
fi
echo "plan of $head: workflow run $run_id"
echo "run-id=$run_id" >> "$GITHUB_OUTPUT"
