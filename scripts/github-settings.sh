#!/usr/bin/env bash
# The GitHub side of the pipeline's trust, applied with `gh` (an administrator of the repository,
# once, and again whenever it drifts): what AWS checks in the OIDC token only holds if GitHub
# issues the token only where it should.
#
#   scripts/github-settings.sh OWNER/REPO REVIEWERS_TEAM_ID
#
# Run it for this repository and for the trading platform's (it calls release.yml). It sets:
# - the OIDC subject to repo, context and job_workflow_ref, which the roles of
#   stacksets/pipeline-access.yaml require (a token of any other workflow, or of this workflow at
#   another ref, names itself and is refused);
# - environments dev, staging and prod, each deployable from main only (a branch policy: a pull
#   request or another branch cannot run a job in them), staging and prod behind the reviewers
#   team, who may not approve their own runs.
# Idempotent: PUT replaces, and an existing branch policy is left as it is.
set -euo pipefail

repo="${1:?usage: $0 OWNER/REPO REVIEWERS_TEAM_ID}"
team="${2:?usage: $0 OWNER/REPO REVIEWERS_TEAM_ID}"

gh api --method PUT "repos/$repo/actions/oidc/customization/sub" --input - <<'JSON'
{"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"]}
JSON

for env in dev staging prod; do
  if [ "$env" = dev ]; then
    reviewers='[]'
  else
    reviewers="[{\"type\": \"Team\", \"id\": $team}]"
  fi
  gh api --method PUT "repos/$repo/environments/$env" --input - <<JSON
{"reviewers": $reviewers, "prevent_self_review": true,
 "deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true}}
JSON
  existing="$(gh api "repos/$repo/environments/$env/deployment-branch-policies" --jq '.branch_policies[].name')"
  if ! grep -qx main <<<"$existing"; then
    gh api --method POST "repos/$repo/environments/$env/deployment-branch-policies" \
      -f name=main -f type=branch >/dev/null
  fi
  echo "$repo: environment $env deploys from main$([ "$env" = dev ] || echo ", reviewed by team $team")"
done
