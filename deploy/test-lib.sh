# Sourced by deploy/docker-test.sh and deploy/netns-test.sh (not run): what both tests of
# a real cluster need. Set `run` (a scratch dir) and define `say` before using these.

fail() { say "FAILED: $*" >&2; exit 1; }

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, failing after SECONDS.
wait_for() {
  local deadline=$1 what=$2
  shift 2
  local end=$((SECONDS + deadline))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out after ${deadline}s waiting for $what"
    sleep 0.2
  done
}

# json_count URL EXPR: evaluates the Python expression EXPR over `j`, the JSON at URL
# (0 when the URL does not answer). Prefix with a command (ip netns exec NS) via JSON_VIA.
json_count() {
  ${JSON_VIA:-} python3 - "$1" "$2" <<'PY' 2>/dev/null || echo 0
import json, sys, urllib.request
j = json.load(urllib.request.urlopen(sys.argv[1], timeout=2))
print(int(eval(sys.argv[2])))
PY
}

# make_words DIR FILES MIB: FILES text files of MIB MiB each of words from a vocabulary of
# 5,000, a few seconds of word count for a small cluster.
make_words() {
  python3 - "$@" <<'PY'
import os, random, sys
out, files, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
vocab = ["w%d" % i for i in range(5000)]
chunk = "".join(" ".join(rng.choice(vocab) for _ in range(12)) + "\n" for _ in range(20000)).encode()
for i in range(files):
    with open(os.path.join(out, "part%d.txt" % i), "wb") as f:
        for _ in range(mib * (1 << 20) // len(chunk) + 1):
            f.write(chunk)
PY
}

# check_output DIR INPUTS...: DIR holds _SUCCESS, no _temporary, and parts whose lines
# are exactly word count's "word<TAB>count" over the INPUTS (words: runs of non-blanks).
check_output() {
  local out=$1
  shift
  [ -f "$out/_SUCCESS" ] || fail "$out has no _SUCCESS"
  [ ! -e "$out/_temporary" ] || fail "$out still has _temporary"
  cat "$out"/part-* | LC_ALL=C sort >"$run/got"
  python3 - "$@" <<'PY' | LC_ALL=C sort >"$run/want"
import collections, sys
counts = collections.Counter()
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            counts.update(line.split())
for word, n in counts.items():
    sys.stdout.buffer.write(word + b"\t" + str(n).encode() + b"\n")
PY
  cmp -s "$run/got" "$run/want" ||
    fail "$out differs from the reference: $(diff "$run/got" "$run/want" | head -5 | tr '\n' ' ')"
}
