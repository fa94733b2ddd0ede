#!/usr/bin/env bash
# check_citations.sh: every citation in the sources names a section that exists in the project's
# design documents. A citation is `src/numerics.md N.M` or `src/architecture.md N.M` (a list:
# "5.1, 12.3", "2 and 5.3-5.7"), or `src/numerics.md, NAME` where NAME is in a heading (a pitfall
# by its stable name: `src/numerics.md, pitfall vg-pole`). Each cited N must have a heading
# "## N." and each N.M a heading "### N.M" in that document. Fails, naming file:line, on a section
# that does not exist, on a citation of a document path that does not exist (a bare
# "numerics.md", another project's notes), on a numbered pitfall, on "the brief", on a bare
# "section N" or appendix "A.N" outside the two documents, and on a mention of a design document
# in code that cites no section (a citation split over two lines).
#
#   check_citations.sh [SOURCE_ROOT]      (default: the checkout this script lives in)
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"
self=scripts/check_citations.sh
docs=(src/numerics.md src/architecture.md)
for d in "${docs[@]}"; do
  [ -f "$d" ] || { echo "check_citations.sh: $d not found under $PWD" >&2; exit 2; }
done

# The section numbers of each document: "## 3. Densities" gives 3, "### 3.2 The ..." gives 3.2.
declare -A section
for d in "${docs[@]}"; do
  while read -r n; do
    section["$d $n"]=1
  done < <(sed -nE 's/^## ([0-9]+)\. .*/\1/p; s/^### ([0-9]+\.[0-9]+) .*/\1/p' "$d")
done

# The sources: text files of the source tree (grep -I skips binary fuzz inputs and HDF5 files).
dirs=()
for d in src include tests scripts configs .ci; do [ -d "$d" ] && dirs+=("$d"); done
mapfile -t files < <(find "${dirs[@]}" -type f ! -path "$self" | sort)
for f in meson.build README.md; do [ -f "$f" ] && files+=("$f"); done

bad=0 checked=0
fail() { # fail FILE:LINE MESSAGE
  echo "$1: $2"
  bad=$((bad + 1))
}

# Numbered citations, lists and ranges included.
num='[0-9]+(\.[0-9]+)?'
item="$num(-$num)?"
while IFS= read -r hit; do
  loc=${hit%%:src/*}
  cite=${hit#"$loc":}
  doc=${cite%% *}
  list=${cite#* }
  list=${list//, /;}
  list=${list// and /;}
  IFS=';' read -r -a items <<< "$list"
  for it in "${items[@]}"; do
    for n in ${it/-/ }; do
      checked=$((checked + 1))
      if [ -z "${section["$doc $n"]:-}" ]; then
        if [[ $n == *.* ]]; then
          fail "$loc" "$doc has no section $n (no heading \"### $n\")"
        else
          fail "$loc" "$doc has no section $n (no heading \"## $n.\")"
        fi
      fi
    done
  done
done < <(grep -HnIoE "src/(numerics|architecture)\.md $item((, | and )$item)*" "${files[@]}" || true)

# Citations by name: the name must be in one of the document's headings. A line may hold several
# citations: each name ends where the next citation starts.
while IFS= read -r hit; do
  loc=${hit%%:src/*}
  cite=${hit#"$loc":}
  doc=${cite%%,*}
  name=${cite#*, }
  name=${name%"${name##*[! ]}"}
  checked=$((checked + 1))
  if [[ $name == pitfall\ * ]]; then
    slug=${name#pitfall }
    slug=${slug%% *}
    grep -qE "^### 12\.[0-9]+ \`$slug\`:" "$doc" ||
      fail "$loc" "$doc has no pitfall named $slug"
  # Not grep -q after the pipe: its early exit would kill the first grep by SIGPIPE, which
  # pipefail reports as a failed match now and then.
  elif ! grep -E '^##+ ' "$doc" | grep -iF -- "$name" >/dev/null; then
    fail "$loc" "$doc has no heading containing \"$name\""
  fi
done < <(grep -HnIE 'src/(numerics|architecture)\.md, [A-Za-z]' "${files[@]}" | awk '{
  n = index($0, ":"); m = index(substr($0, n + 1), ":"); loc = substr($0, 1, n + m - 1)
  text = substr($0, n + m + 1)
  while (match(text, /src\/(numerics|architecture)\.md, [A-Za-z][^`).;:,]*/)) {
    c = substr(text, RSTART, RLENGTH); rest = substr(text, RSTART + RLENGTH)
    i = index(substr(c, 2), "src/")
    if (i > 0) { rest = substr(c, i + 1) rest; c = substr(c, 1, i) }
    print loc ":" c
    text = rest
  }
}' || true)

# Old and broken forms.
while IFS= read -r hit; do
  loc=${hit%:*}
  path=${hit##*:}
  [ -f "$path" ] || fail "$loc" "cites $path, which is not a file of this repository"
done < <(grep -HnIoE '[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b' "${files[@]}" || true)
while IFS= read -r hit; do
  fail "${hit%:*}" "a numbered pitfall (\"${hit##*:}\"): cite src/numerics.md 12.N"
done < <(grep -HnIoE '\b[Pp]itfalls? [0-9]+' "${files[@]}" || true)
while IFS= read -r hit; do
  fail "${hit%:*}" "\"${hit##*:}\" names no document: cite a section of src/numerics.md"
done < <(grep -HnIoiE "\bthe brief\b|\bbrief's" "${files[@]}" || true)
for f in "${files[@]}"; do
  case $f in src/numerics.md | src/architecture.md) continue ;; esac
  while IFS= read -r hit; do
    hit=${hit%%:*}:$(grep -oE '([Ss]ections? )?[0-9A]+\.?[0-9]*$' <<< "${hit#*:}")
    fail "$f:${hit%%:*}" "\"${hit#*:}\" names no document: cite src/numerics.md N.M"
  done < <(grep -nIoE '\b[Ss]ections? ([0-9]+|A)(\.[0-9]+)?\b|(^|[^A-Za-z0-9_&])A\.[0-9]+\b' "$f" ||
    true)
  case $f in *.md) continue ;; esac
  while IFS= read -r hit; do
    fail "$f:${hit%%:*}" "${hit#*:} without a section on the same line: add N.M"
  done < <(grep -nIoE 'src/(numerics|architecture)\.md($|[^ ,]|,$| [^0-9]|, [^A-Za-z])' "$f" |
    sed -E 's/^([0-9]+:src\/[a-z]+\.md).*/\1/' || true)
done

if [ $bad -gt 0 ]; then
  echo "check_citations.sh: $bad bad citation(s)"
  exit 1
fi
echo "check_citations.sh: $checked cited sections of ${docs[*]} checked in ${#files[@]} files," \
  "all exist"
