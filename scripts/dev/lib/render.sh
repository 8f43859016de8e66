#!/usr/bin/env bash
# render TEMPLATE [NAME=VALUE...]: prints TEMPLATE with every @NAME@ replaced by VALUE. Pure bash on purpose:
# envsubst (gettext-base) is not on a minimal Debian nor in the Cassandra image (scripts/dev/cassandra-image.sh),
# and sed would need every value escaped ('|', '&', '\' in a path). Sourced, never run.
# A placeholder without a value fails the render, so a template and its caller cannot drift apart silently.
render() {
  local template=$1 text rest pair name
  shift
  [[ -r $template ]] || { printf '==> ERROR: render: cannot read %s\n' "$template" >&2; return 1; }
  # The whole file, trailing newlines included ($(<file) would strip them); templates hold no NUL byte.
  IFS= read -r -d '' text <"$template" || true
  rest=$text
  for pair in "$@"; do
    name=${pair%%=*}
    # Quoted replacement: '&' and '\' in a value stay literal (bash 5.2 patsub_replacement).
    text=${text//"@$name@"/"${pair#*=}"}
    rest=${rest//"@$name@"/}
  done
  if [[ $rest =~ @[A-Z][A-Z0-9_]*@ ]]; then
    printf '==> ERROR: render: %s in %s has no value\n' "${BASH_REMATCH[0]}" "$template" >&2
    return 1
  fi
  printf '%s' "$text"
}
