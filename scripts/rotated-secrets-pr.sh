#!/usr/bin/env bash
# Open a pull request with the refresh tokens TikTok rotated during a CI run.
#
# apply.yml and drift.yml store a rotated refresh token back into the
# merchant's SOPS file (still encrypted) and hand merchants/secrets/ on as the
# `rotated-secrets` artifact. Their `rotated-secrets` job, which holds no
# decryption key, lays that artifact over the same commit and runs this
# script: every changed file must still be SOPS-encrypted (`sops filestatus`),
# then the files are committed to a new branch and a pull request is opened,
# so the new tokens reach main through review like any other change.
#
#   RUN_ID   the run that rotated the tokens (names the branch)
#   BASE     the branch the pull request targets (default: main)
#   SOPS     the sops binary (default: sops on PATH)
set -euo pipefail

run_id=${RUN_ID:?RUN_ID is not set}
base=${BASE:-main}
sops=${SOPS:-sops}

mapfile -t changed < <(git diff --name-only -- merchants/secrets)
untracked=$(git ls-files --others --exclude-standard -- merchants/secrets)
if [ -n "$untracked" ]; then
  # A rotation rewrites a file that exists; a new file here is not a rotation.
  echo "error: new files under merchants/secrets/ are not rotated tokens: $untracked" >&2
  exit 1
fi
if [ "${#changed[@]}" -eq 0 ]; then
  echo "No rotated refresh tokens to commit."
  exit 0
fi
for file in "${changed[@]}"; do
  status=$("$sops" --disable-version-check filestatus "$file" 2>/dev/null || true)
  if [ "$status" != '{"encrypted":true}' ]; then
    echo "error: $file is not SOPS-encrypted; nothing was committed" >&2
    exit 1
  fi
done

branch="rotated-secrets/$run_id"
git switch --quiet -c "$branch"
git add -- "${changed[@]}"
git -c user.name="github-actions[bot]" \
    -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
    commit --quiet -m "Store the TikTok refresh tokens rotated in run $run_id" -- "${changed[@]}"
git push --quiet origin "$branch"

body="TikTok issued new refresh tokens during run $run_id. They are stored,
still encrypted, in:

$(printf -- "- \`%s\`\n" "${changed[@]}")

Merge this so the next runs use them: TikTok may stop accepting the old ones."
gh pr create --base "$base" --head "$branch" \
  --title "Rotated TikTok refresh tokens (run $run_id)" --body "$body"
